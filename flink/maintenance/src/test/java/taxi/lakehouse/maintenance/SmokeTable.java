package taxi.lakehouse.maintenance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Types;

/**
 * Not a test: creates a demo table for a manual smoke run of the packaged jar on Flink's lib/.
 *
 * <pre>
 * java -cp "$FLINK_HOME/lib/*:target/test-classes" taxi.lakehouse.maintenance.SmokeTable /tmp/smoke
 * </pre>
 *
 * writes /tmp/smoke/catalog.properties (JdbcCatalog on SQLite, file warehouse) and table
 * silver.trips (partitioned by pickup_date, 12 tiny Parquet files in 12 commits) plus one old
 * orphan file in its data directory. With a second argument "count" it prints the table's row
 * count and sum(trip_id) instead (to check a maintenance run kept every row).
 */
public final class SmokeTable {

  private SmokeTable() {}

  public static void main(String[] args) throws Exception {
    Path dir = Paths.get(args.length > 0 ? args[0] : "/tmp/taxi-maintenance-smoke").toAbsolutePath();
    if (args.length > 1 && args[1].equals("count")) { // SmokeTable DIR count: rows and sum of trip_id
      Map<String, String> p = Maintain.loadProperties(dir.resolve("catalog.properties"));
      Table t =
          CatalogUtil.buildIcebergCatalog("lakehouse", p, new org.apache.hadoop.conf.Configuration())
              .loadTable(TableIdentifier.of("silver", "trips"));
      long rows = 0;
      long sum = 0;
      try (org.apache.iceberg.io.CloseableIterable<Record> it = org.apache.iceberg.data.IcebergGenerics.read(t).build()) {
        for (Record r : it) {
          rows++;
          sum += (Long) r.getField("trip_id");
        }
      }
      System.out.println("rows=" + rows + " sum(trip_id)=" + sum + " data_files=" + TableMaintainer.dataFileCount(t));
      return;
    }
    Files.createDirectories(dir.resolve("warehouse"));
    Map<String, String> props =
        Map.of(
            "uri", "jdbc:sqlite:" + dir.resolve("iceberg.db"),
            "jdbc.schema-version", "V1",
            "warehouse", dir.resolve("warehouse").toUri().toString());
    StringBuilder file = new StringBuilder();
    props.forEach((k, v) -> file.append(k).append('=').append(v).append('\n'));
    Files.writeString(dir.resolve("catalog.properties"), file.toString());

    Map<String, String> catalogProps = new java.util.HashMap<>(props);
    catalogProps.put("catalog-impl", "org.apache.iceberg.jdbc.JdbcCatalog");
    Catalog catalog = CatalogUtil.buildIcebergCatalog("lakehouse", catalogProps, new org.apache.hadoop.conf.Configuration());
    Schema schema =
        new Schema(
            Types.NestedField.required(1, "trip_id", Types.LongType.get()),
            Types.NestedField.required(2, "pickup_date", Types.DateType.get()),
            Types.NestedField.optional(3, "fare", Types.DoubleType.get()));
    ((SupportsNamespaces) catalog).createNamespace(Namespace.of("silver"));
    Table table =
        catalog.createTable(
            TableIdentifier.of("silver", "trips"),
            schema,
            PartitionSpec.builderFor(schema).identity("pickup_date").build(),
            Map.of("format-version", "2"));
    long id = 0;
    for (int commit = 0; commit < 12; commit++) {
      List<Record> records = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        GenericRecord r = GenericRecord.create(schema);
        r.setField("trip_id", ++id);
        r.setField("pickup_date", LocalDate.of(2024, 1, 1 + commit % 2));
        r.setField("fare", id * 0.5);
        records.add(r);
      }
      table.newAppend().appendFile(MaintainTest.writeFile(table, records)).commit();
    }
    Path orphan = dir.resolve("warehouse/silver/trips/data/pickup_date=2024-01-01/00000-orphan.parquet");
    Files.write(orphan, new byte[] {0});
    Files.setLastModifiedTime(orphan, FileTime.fromMillis(System.currentTimeMillis() - 7L * 86_400_000));
    System.out.println("created " + table.name() + " at " + table.location() + ", properties: " + dir.resolve("catalog.properties"));
  }
}
