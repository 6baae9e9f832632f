package taxi.lakehouse.maintenance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.ExpireSnapshots;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotSummary;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.io.CloseableIterable;

/** Runs the requested operations on one table and builds its JSON report. */
final class TableMaintainer {

  private final MaintenanceOptions options;
  private final Compactor compactor;
  private final OrphanFileCleaner orphanCleaner;
  private final Log log;

  TableMaintainer(MaintenanceOptions options, Compactor compactor, OrphanFileCleaner orphanCleaner, Log log) {
    this.options = options;
    this.compactor = compactor;
    this.orphanCleaner = orphanCleaner;
    this.log = log;
  }

  Map<String, Object> maintain(Catalog catalog, String tableName) {
    long start = System.nanoTime();
    Table table = catalog.loadTable(TableIdentifier.parse(tableName));
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("table", tableName);
    report.put("dry_run", options.dryRun);
    long dataFilesBefore = dataFileCount(table);
    int snapshotsBefore = snapshotIds(table.snapshots()).size();

    // 1. compaction
    Map<String, Object> compaction = null;
    if (options.compact) {
      compaction =
          compactor.compact(table, options.targetFileSizeBytes, options.minInputFiles, options.dryRun);
      table.refresh();
      log.info(
          "%s: compaction rewrote %s file(s) into %s", tableName,
          compaction.get("rewritten_data_files"), compaction.get("added_data_files"));
    }
    report.put("compaction", compaction);

    // 2. snapshot expiry (also deletes the files only the expired snapshots referenced)
    Integer expired = null;
    if (options.expireOlderThanMs != null) {
      expired = expireSnapshots(table);
      table.refresh();
    }
    report.put("expired_snapshots", expired);

    // 3. orphan files
    Map<String, Object> orphans = null;
    if (options.removeOrphansOlderThanMs != null) {
      orphans = orphanCleaner.run(table, options.removeOrphansOlderThanMs, options.dryRun);
    }
    report.put("orphan_files_found", orphans == null ? null : orphans.get("orphan_files_found"));
    report.put("orphan_files_deleted", orphans == null ? null : orphans.get("orphan_files_deleted"));
    report.put("orphan_files", orphans == null ? null : orphans.get("orphan_files"));
    if (orphans != null) {
      Map<String, Object> scan = new LinkedHashMap<>();
      scan.put("listed_files", orphans.get("listed_files"));
      scan.put("reachable_files", orphans.get("reachable_files"));
      scan.put("unreferenced_newer_files", orphans.get("unreferenced_newer_files"));
      report.put("orphan_scan", scan);
    }

    table.refresh();
    report.put("data_files_before", dataFilesBefore);
    report.put("data_files_after", dataFileCount(table));
    report.put("snapshots_before", snapshotsBefore);
    report.put("snapshots_after", snapshotIds(table.snapshots()).size());
    report.put("seconds", (System.nanoTime() - start) / 1e9);
    return report;
  }

  private int expireSnapshots(Table table) {
    Set<Long> before = snapshotIds(table.snapshots());
    ExpireSnapshots expire =
        table.expireSnapshots().expireOlderThan(options.expireOlderThanMs).retainLast(options.retainLast);
    int expired = 0;
    if (options.dryRun) {
      // apply() computes the expiry without committing and returns the snapshots it would remove
      for (Snapshot s : expire.apply()) {
        if (before.contains(s.snapshotId())) {
          expired++;
        }
      }
    } else {
      expire.commit();
      table.refresh();
      Set<Long> after = snapshotIds(table.snapshots());
      for (Long id : before) {
        if (!after.contains(id)) {
          expired++;
        }
      }
    }
    log.info(
        "%s: %s %d of %d snapshot(s) (older than %d, retaining the last %d)",
        table.name(), options.dryRun ? "would expire" : "expired", expired, before.size(),
        options.expireOlderThanMs, options.retainLast);
    return expired;
  }

  private static Set<Long> snapshotIds(Iterable<Snapshot> snapshots) {
    Set<Long> ids = new HashSet<>();
    for (Snapshot s : snapshots) {
      ids.add(s.snapshotId());
    }
    return ids;
  }

  static long dataFileCount(Table table) {
    Snapshot current = table.currentSnapshot();
    if (current == null) {
      return 0;
    }
    String total = current.summary() == null ? null : current.summary().get(SnapshotSummary.TOTAL_DATA_FILES_PROP);
    if (total != null) {
      try {
        return Long.parseLong(total);
      } catch (NumberFormatException e) {
        // fall through and count
      }
    }
    long count = 0;
    try (CloseableIterable<FileScanTask> tasks = table.newScan().useSnapshot(current.snapshotId()).planFiles()) {
      for (FileScanTask ignored : tasks) {
        count++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return count;
  }
}
