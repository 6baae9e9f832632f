# Pipeline run defaults shared by the native Makefile and make/docker.mk (override on the command line).
# the gold engine (.env may set it): `make bootstrap` installs Trino for GOLD_ENGINE=trino
GOLD_ENGINE ?= $(or $(shell sed -n 's/^GOLD_ENGINE=//p' .env 2>/dev/null | tail -1),duckdb)
EVENTS ?= 10000
MODE ?= burst
RATE ?=
SEED ?= auto
DAYS ?= 3
ANOMALY_RATE ?= 0.01
