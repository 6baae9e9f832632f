package taxi.lakehouse.maintenance;

import java.io.PrintStream;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/** Progress messages of the tool itself, always to stderr (stdout carries only the JSON lines). */
final class Log {

  private final PrintStream err;

  Log(PrintStream err) {
    this.err = err;
  }

  void info(String format, Object... args) {
    err.println(
        LocalTime.now().truncatedTo(ChronoUnit.MILLIS)
            + " [maintain] "
            + String.format(Locale.ROOT, format, args));
  }
}
