# Pipeline run defaults shared by the native Makefile and make/docker.mk (override on the command line).
# the gold engine (the env file may set it): `make bootstrap` installs Trino for GOLD_ENGINE=trino,
# RUNTIME=docker adds the trino profile
GOLD_ENGINE ?= $(or $(shell sed -n 's/^GOLD_ENGINE=//p' $(or $(ENV_FILE),.env) 2>/dev/null | tail -1),duckdb)
EVENTS ?= 10000
MODE ?= burst
RATE ?=
SEED ?= auto
DAYS ?= 3
ANOMALY_RATE ?= 0.01
