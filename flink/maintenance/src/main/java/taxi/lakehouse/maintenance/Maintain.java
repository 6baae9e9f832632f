package taxi.lakehouse.maintenance;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Supplier;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;

/**
 * Iceberg table maintenance for the lakehouse: compaction of small files, snapshot expiry and
 * orphan-file removal, with Iceberg's Java APIs (Flink SQL has no Iceberg maintenance procedures).
 *
 * <pre>
 * java -cp "$FLINK_HOME/lib/*:taxi-iceberg-maintenance.jar" taxi.lakehouse.maintenance.Maintain \
 *   --catalog-name lakehouse --catalog-properties /path/catalog.properties \
 *   --table silver.trips [--table ...] [--compact] [--target-file-size-bytes N] [--min-input-files N] \
 *   [--expire-older-than-ms EPOCH_MS] [--retain-last N] [--remove-orphans-older-than-ms EPOCH_MS] [--dry-run]
 * </pre>
 *
 * One JSON line per table on stdout, logs on stderr; exit 0 on success, 1 on the first failure
 * (remaining tables are not processed).
 */
public final class Maintain {

  private static final String LOG_CONFIG = "/taxi/lakehouse/maintenance/log4j2-maintenance.properties";

  private Maintain() {}

  public static void main(String[] args) {
    configureLogging();
    int rc = run(args, System.out, System.err);
    System.out.flush();
    System.err.flush();
    System.exit(rc); // the local Flink/Hadoop machinery may leave non-daemon threads behind
  }

  /** Runs the tool; returns the exit code. Never calls System.exit (tests call this). */
  static int run(String[] args, PrintStream out, PrintStream err) {
    MaintenanceOptions options;
    try {
      options = MaintenanceOptions.parse(args);
    } catch (MaintenanceOptions.UsageException e) {
      err.println("ERROR: " + e.getMessage());
      err.println(MaintenanceOptions.USAGE);
      return 1;
    }
    if (options.help) {
      out.println(MaintenanceOptions.USAGE);
      return 0;
    }
    Log log = new Log(err);

    Map<String, String> properties;
    try {
      properties = loadProperties(Paths.get(options.catalogPropertiesFile));
    } catch (IOException | RuntimeException e) {
      err.println("ERROR: cannot read catalog properties file " + options.catalogPropertiesFile + ": " + describe(e));
      return 1;
    }

    Catalog catalog;
    try {
      catalog = CatalogUtil.buildIcebergCatalog(options.catalogName, properties, new org.apache.hadoop.conf.Configuration());
    } catch (RuntimeException | LinkageError e) {
      err.println("ERROR: cannot load Iceberg catalog " + options.catalogName + ": " + describe(e));
      if (options.verbose) {
        e.printStackTrace(err);
      }
      return 1;
    }

    Supplier<StreamExecutionEnvironment> flink = memoize(Maintain::localFlinkEnvironment);
    TableMaintainer maintainer =
        new TableMaintainer(options, new Compactor(flink, log), new OrphanFileCleaner(log), log);
    try {
      for (String table : options.tables) {
        log.info("%s: start%s", table, options.dryRun ? " (dry run)" : "");
        Map<String, Object> report;
        try {
          report = maintainer.maintain(catalog, table);
        } catch (Exception | LinkageError e) {
          err.println("ERROR: maintenance of table " + table + " failed: " + describe(e));
          if (options.verbose) {
            e.printStackTrace(err);
          }
          return 1;
        }
        out.println(Json.write(report));
        out.flush();
      }
      return 0;
    } finally {
      if (catalog instanceof Closeable) {
        try {
          ((Closeable) catalog).close();
        } catch (IOException | RuntimeException e) {
          log.info("closing the catalog failed: %s", describe(e));
        }
      }
    }
  }

  /**
   * Local Flink (mini cluster inside this JVM) for Iceberg's Flink rewrite action: parallelism 1,
   * small managed/network memory, REST endpoint on a random port (no clash with a running cluster).
   */
  static StreamExecutionEnvironment localFlinkEnvironment() {
    Configuration conf = new Configuration();
    conf.set(CoreOptions.CHECK_LEAKED_CLASSLOADER, false);
    conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("16m"));
    conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, MemorySize.parse("32m"));
    conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, MemorySize.parse("32m"));
    conf.set(RestOptions.BIND_PORT, "0");
    // The action ships Iceberg scan tasks and data files between operators. Flink would serialize
    // them with Kryo's field serializer, which on Java 17 needs --add-opens java.base/java.nio (and
    // more) for the ByteBuffers inside them. They are java.io.Serializable, so let Kryo use Java
    // serialization for them instead: no extra JVM flags needed.
    conf.set(
        PipelineOptions.SERIALIZATION_CONFIG,
        List.of(
            javaSerialized("org.apache.iceberg.ScanTask"),
            javaSerialized("org.apache.iceberg.ContentFile")));
    return StreamExecutionEnvironment.createLocalEnvironment(1, conf);
  }

  private static String javaSerialized(String type) {
    return type + ": {type: kryo, kryo-type: default, class: com.esotericsoftware.kryo.serializers.JavaSerializer}";
  }

  static Map<String, String> loadProperties(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException("no such file");
    }
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    Map<String, String> map = new LinkedHashMap<>();
    for (String name : p.stringPropertyNames()) {
      map.put(name, p.getProperty(name).trim());
    }
    if (!map.containsKey("type") && !map.containsKey("catalog-impl")) {
      map.put("catalog-impl", "org.apache.iceberg.jdbc.JdbcCatalog");
    }
    return map;
  }

  /** One line: exception type and message, plus the distinct messages of its causes. */
  static String describe(Throwable e) {
    List<String> parts = new ArrayList<>();
    Throwable t = e;
    for (int depth = 0; t != null && depth < 50; depth++) {
      String msg = t.getMessage();
      boolean repeated = msg != null && parts.stream().anyMatch(p -> p.contains(msg));
      if (!repeated) {
        parts.add(t.getClass().getSimpleName() + (msg == null ? "" : ": " + msg));
      }
      t = t.getCause() == t ? null : t.getCause();
    }
    if (parts.size() > 4) { // the first two and the root cause(s) say the most
      parts = new ArrayList<>(List.of(parts.get(0), parts.get(1), "...", parts.get(parts.size() - 2), parts.get(parts.size() - 1)));
    }
    String line = String.join(" <- caused by ", parts).replaceAll("\\s*[\\r\\n]+\\s*", " ");
    return line.length() > 2000 ? line.substring(0, 2000) + "..." : line;
  }

  private static void configureLogging() {
    if (System.getProperty("log4j2.configurationFile") == null
        && System.getProperty("log4j.configurationFile") == null
        && System.getenv("LOG4J_CONFIGURATION_FILE") == null) {
      URL config = Maintain.class.getResource(LOG_CONFIG);
      if (config != null) {
        System.setProperty("log4j2.configurationFile", config.toString());
      }
    }
  }

  private static <T> Supplier<T> memoize(Supplier<T> supplier) {
    return new Supplier<>() {
      private T value;

      @Override
      public synchronized T get() {
        if (value == null) {
          value = supplier.get();
        }
        return value;
      }
    };
  }
}
