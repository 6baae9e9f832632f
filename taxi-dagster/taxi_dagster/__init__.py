"""Dagster orchestration of the taxi-trip lakehouse.

Every asset calls the step functions of the `lakehouse` package (the same code the CLI, Make and
the tests call); nothing of the pipeline is implemented here. The folder is `taxi-dagster/`
(the project, as `dg` lays one out), the package `taxi_dagster`: neither shadows the library.
"""
