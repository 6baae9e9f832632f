"""The engines the pipeline runs on, one module per service: Kafka, Flink, MinIO, PostgreSQL, the
Schema Registry and Trino. The same code starts them as local processes (the native runtime,
``stack.Stack``) and runs each one in the foreground as a compose container's main process
(``lakehouse stack serve``).

Nothing is imported here: ``lakehouse.stack.processes`` stays cheap for callers that only probe
a port.
"""
