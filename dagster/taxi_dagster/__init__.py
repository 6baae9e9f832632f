"""Dagster orchestration of the taxi-trip lakehouse.

Every asset calls the step functions of the `lakehouse` package (the same code the CLI, Make and
the tests call); nothing of the pipeline is implemented here. The folder is `dagster/`, the
package `taxi_dagster` (a package named `dagster` would shadow the library).
"""
