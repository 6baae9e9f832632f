# Pipeline run defaults shared by the native Makefile and make/docker.mk (override on the command line).
EVENTS ?= 10000
MODE ?= burst
RATE ?=
SEED ?= auto
DAYS ?= 3
ANOMALY_RATE ?= 0.01
