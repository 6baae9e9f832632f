package taxi.lakehouse.maintenance;

import java.util.ArrayList;
import java.util.List;

/** Command line options of {@link Maintain}, parsed by hand (no CLI library on Flink's lib/). */
final class MaintenanceOptions {

  static final long DEFAULT_TARGET_FILE_SIZE_BYTES = 128L * 1024 * 1024;
  static final int DEFAULT_MIN_INPUT_FILES = 5;
  static final int DEFAULT_RETAIN_LAST = 5;

  static final String USAGE =
      String.join(
          "\n",
          "Usage: java -cp \"$FLINK_HOME/lib/*:taxi-iceberg-maintenance.jar\" taxi.lakehouse.maintenance.Maintain \\",
          "         --catalog-name NAME --catalog-properties /path/catalog.properties \\",
          "         --table ns.table [--table ns.table2 ...] \\",
          "         [--compact] [--target-file-size-bytes N (default 134217728)] [--min-input-files N (default 5)] \\",
          "         [--expire-older-than-ms EPOCH_MS] [--retain-last N (default 5)] \\",
          "         [--remove-orphans-older-than-ms EPOCH_MS] [--dry-run] [--verbose]",
          "",
          "At least one of --compact, --expire-older-than-ms, --remove-orphans-older-than-ms is required.",
          "Operations run per table in the order: compact, expire snapshots, remove orphan files.",
          "--dry-run plans everything and reports it, but commits and deletes nothing.",
          "One JSON line per table goes to stdout; logs go to stderr. Exit code 0 = success, 1 = failure.");

  String catalogName;
  String catalogPropertiesFile;
  final List<String> tables = new ArrayList<>();
  boolean compact;
  long targetFileSizeBytes = DEFAULT_TARGET_FILE_SIZE_BYTES;
  int minInputFiles = DEFAULT_MIN_INPUT_FILES;
  Long expireOlderThanMs;
  int retainLast = DEFAULT_RETAIN_LAST;
  Long removeOrphansOlderThanMs;
  boolean dryRun;
  boolean verbose;
  boolean help;

  /** Thrown for bad command lines; the message is meant for the user. */
  static final class UsageException extends RuntimeException {
    UsageException(String message) {
      super(message);
    }
  }

  static MaintenanceOptions parse(String[] args) {
    MaintenanceOptions o = new MaintenanceOptions();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String inlineValue = null;
      if (arg.startsWith("--") && arg.contains("=")) {
        inlineValue = arg.substring(arg.indexOf('=') + 1);
        arg = arg.substring(0, arg.indexOf('='));
      }
      switch (arg) {
        case "--help":
        case "-h":
          o.help = true;
          break;
        case "--compact":
          o.compact = flag(arg, inlineValue);
          break;
        case "--dry-run":
          o.dryRun = flag(arg, inlineValue);
          break;
        case "--verbose":
          o.verbose = flag(arg, inlineValue);
          break;
        default:
          String value;
          if (inlineValue != null) {
            value = inlineValue;
          } else {
            if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
              throw new UsageException(
                  arg.startsWith("--") ? "missing value for " + arg : "unexpected argument: " + arg);
            }
            value = args[++i];
          }
          o.set(arg, value);
      }
    }
    if (!o.help) {
      o.validate();
    }
    return o;
  }

  private static boolean flag(String name, String inlineValue) {
    if (inlineValue == null || inlineValue.equalsIgnoreCase("true")) {
      return true;
    }
    if (inlineValue.equalsIgnoreCase("false")) {
      return false;
    }
    throw new UsageException(name + " takes no value (or =true/=false), got: " + inlineValue);
  }

  private void set(String name, String value) {
    switch (name) {
      case "--catalog-name":
        catalogName = nonEmpty(name, value);
        break;
      case "--catalog-properties":
        catalogPropertiesFile = nonEmpty(name, value);
        break;
      case "--table":
        for (String t : value.split(",")) {
          if (!t.isBlank()) {
            tables.add(t.trim());
          }
        }
        break;
      case "--target-file-size-bytes":
        targetFileSizeBytes = positiveLong(name, value);
        break;
      case "--min-input-files":
        minInputFiles = (int) Math.min(Integer.MAX_VALUE, positiveLong(name, value));
        break;
      case "--expire-older-than-ms":
        expireOlderThanMs = positiveLong(name, value);
        break;
      case "--retain-last":
        retainLast = (int) Math.min(Integer.MAX_VALUE, positiveLong(name, value));
        break;
      case "--remove-orphans-older-than-ms":
        removeOrphansOlderThanMs = positiveLong(name, value);
        break;
      default:
        throw new UsageException("unknown option: " + name);
    }
  }

  private void validate() {
    if (catalogName == null) {
      throw new UsageException("--catalog-name is required");
    }
    if (catalogPropertiesFile == null) {
      throw new UsageException("--catalog-properties is required");
    }
    if (tables.isEmpty()) {
      throw new UsageException("at least one --table ns.table is required");
    }
    for (String t : tables) {
      if (!t.contains(".") || t.startsWith(".") || t.endsWith(".")) {
        throw new UsageException("--table must be namespace.table, got: " + t);
      }
    }
    if (!compact && expireOlderThanMs == null && removeOrphansOlderThanMs == null) {
      throw new UsageException(
          "nothing to do: give --compact, --expire-older-than-ms and/or --remove-orphans-older-than-ms");
    }
  }

  private static String nonEmpty(String name, String value) {
    if (value.isBlank()) {
      throw new UsageException(name + " must not be empty");
    }
    return value;
  }

  private static long positiveLong(String name, String value) {
    long v;
    try {
      v = Long.parseLong(value.trim().replace("_", ""));
    } catch (NumberFormatException e) {
      throw new UsageException(name + " expects an integer, got: " + value);
    }
    if (v < 1) {
      throw new UsageException(name + " must be >= 1, got: " + value);
    }
    return v;
  }
}
