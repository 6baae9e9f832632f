-- The Iceberg catalog every Flink job uses: Iceberg's JDBC catalog, shared with pyiceberg's
-- SqlCatalog (jdbc.schema-version V1 <-> pyiceberg schema_version v1; same catalog name).
-- ${...} placeholders are filled from the settings (.env) by lakehouse.flink.sql; credentials
-- are never written into this file.
CREATE CATALOG ${catalog} WITH (
  'type' = 'iceberg',
  'catalog-impl' = 'org.apache.iceberg.jdbc.JdbcCatalog',
  'uri' = '${jdbc_uri}',
  'jdbc.schema-version' = 'V1',
  'warehouse' = '${warehouse}'${catalog_options}
);
