package taxi.lakehouse.maintenance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.iceberg.CombinedScanTask;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.actions.RewriteDataFilesActionResult;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.expressions.UnboundTerm;
import org.apache.iceberg.flink.actions.RewriteDataFilesAction;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.transforms.Transform;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.StructLikeWrapper;

/**
 * Bin-pack compaction of small data files with Iceberg's Flink {@code RewriteDataFilesAction}
 * ({@code Actions.forTable(env, table).rewriteDataFiles()}), which reads and rewrites the files in
 * a local Flink job and commits one {@code RewriteFiles} (replace) snapshot validated from the
 * snapshot it planned on. A concurrent streaming append does not conflict with it; a concurrent
 * delete/overwrite of the same files makes the commit fail and leaves the table unchanged.
 *
 * <p>The action itself compacts every partition that has two or more files; we first plan which
 * partitions (of the current partition spec) have at least {@code minInputFiles} files smaller
 * than the target size and restrict the action to exactly those partitions with a partition
 * filter, so partitions that are already compact are not rewritten.
 */
final class Compactor {

  /** Reported as "engine" in the JSON: the compaction path this tool uses. */
  static final String ENGINE = "iceberg-flink-rewrite-data-files-action";

  /**
   * Weight of opening a file in the bin-packing. Iceberg's default (4 MB) would cap a 128 MB bin at
   * 32 files, i.e. a partition of 1000 tiny streaming files would still end as ~30 files. Packing
   * purely by size makes N tiny files become one file per target size.
   */
  private static final long OPEN_FILE_COST = 1L;

  private final Supplier<StreamExecutionEnvironment> env;
  private final Log log;

  Compactor(Supplier<StreamExecutionEnvironment> env, Log log) {
    this.env = env;
    this.log = log;
  }

  Map<String, Object> compact(Table table, long targetFileSize, int minInputFiles, boolean dryRun) {
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("engine", ENGINE);
    Snapshot snapshot = table.currentSnapshot();
    if (snapshot == null) {
      log.info("%s: no snapshot yet, nothing to compact", table.name());
      return finish(result, 0, 0, List.of(), List.of(), null);
    }

    PartitionSpec spec = table.spec();
    Types.StructType partitionType = spec.partitionType();
    Map<StructLikeWrapper, List<DataFile>> smallFiles = new LinkedHashMap<>();
    int otherSpecFiles = 0;
    try (CloseableIterable<FileScanTask> tasks =
        table.newScan().useSnapshot(snapshot.snapshotId()).ignoreResiduals().planFiles()) {
      for (FileScanTask task : tasks) {
        DataFile file = task.file();
        if (file.specId() != spec.specId()) {
          otherSpecFiles++;
        } else if (file.fileSizeInBytes() < targetFileSize) {
          smallFiles
              .computeIfAbsent(
                  StructLikeWrapper.forType(partitionType).set(file.partition()),
                  k -> new ArrayList<>())
              .add(file);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (otherSpecFiles > 0) {
      log.info(
          "%s: %d data files of older partition specs are left alone (only spec %d is compacted)",
          table.name(), otherSpecFiles, spec.specId());
    }

    List<StructLike> candidates = new ArrayList<>();
    int candidateFiles = 0;
    for (Map.Entry<StructLikeWrapper, List<DataFile>> e : smallFiles.entrySet()) {
      if (e.getValue().size() >= minInputFiles) {
        candidates.add(e.getKey().get());
        candidateFiles += e.getValue().size();
      }
    }
    log.info(
        "%s: %d partition(s) with >= %d files smaller than %d bytes (%d files); %d partition(s) with small files in total",
        table.name(), candidates.size(), minInputFiles, targetFileSize, candidateFiles, smallFiles.size());
    if (candidates.isEmpty() || dryRun) {
      return finish(result, candidates.size(), candidateFiles, List.of(), List.of(), null);
    }

    List<Expression> predicates = new ArrayList<>();
    for (StructLike partition : candidates) {
      predicates.add(partitionPredicate(table, spec, partition));
    }
    Expression filter = or(predicates, 0, predicates.size());
    log.info("%s: rewriting with the Iceberg Flink action (local Flink, parallelism 1), filter %s", table.name(), filter);
    // = Actions.forTable(env, table).rewriteDataFiles(), plus a row-count check before the commit
    RewriteDataFilesActionResult rewrite =
        new VerifiedRewriteDataFilesAction(env.get(), table, log)
            .filter(filter)
            .targetSizeInBytes(targetFileSize)
            .splitOpenFileCost(OPEN_FILE_COST)
            .execute();

    Long snapshotId = null;
    if (!rewrite.deletedDataFiles().isEmpty()) {
      // the action committed through this Table instance, so its current snapshot is the rewrite
      // (unless another writer committed in between; then report the replace snapshot we find)
      snapshotId = findReplaceSnapshot(table, snapshot.snapshotId());
    }
    return finish(
        result,
        candidates.size(),
        candidateFiles,
        rewrite.deletedDataFiles(),
        rewrite.addedDataFiles(),
        snapshotId);
  }

  private static Long findReplaceSnapshot(Table table, long startingSnapshotId) {
    Long found = null;
    for (Snapshot s = table.currentSnapshot(); s != null; ) {
      if (s.snapshotId() == startingSnapshotId) {
        break;
      }
      if ("replace".equals(s.operation())) {
        found = s.snapshotId();
        break;
      }
      Long parent = s.parentId();
      s = parent == null ? null : table.snapshot(parent);
    }
    return found != null ? found : table.currentSnapshot().snapshotId();
  }

  /** OR of predicates[from, to) as a balanced tree (a long chain would nest thousands deep). */
  private static Expression or(List<Expression> predicates, int from, int to) {
    if (to - from == 1) {
      return predicates.get(from);
    }
    int mid = (from + to) >>> 1;
    return Expressions.or(or(predicates, from, mid), or(predicates, mid, to));
  }

  @SuppressWarnings("unchecked")
  static Expression partitionPredicate(Table table, PartitionSpec spec, StructLike partition) {
    Expression predicate = Expressions.alwaysTrue();
    List<PartitionField> fields = spec.fields();
    for (int i = 0; i < fields.size(); i++) {
      PartitionField field = fields.get(i);
      Transform<?, ?> transform = field.transform();
      if (transform.isVoid()) {
        continue;
      }
      String source = table.schema().findColumnName(field.sourceId());
      UnboundTerm<Object> term =
          transform.isIdentity()
              ? Expressions.ref(source)
              : Expressions.transform(source, (Transform<?, Object>) transform);
      Object value = partition.get(i, Object.class);
      predicate =
          Expressions.and(
              predicate, value == null ? Expressions.isNull(term) : Expressions.equal(term, value));
    }
    return predicate;
  }

  private static Map<String, Object> finish(
      Map<String, Object> result,
      int candidatePartitions,
      int candidateFiles,
      List<DataFile> rewritten,
      List<DataFile> added,
      Long snapshotId) {
    result.put("candidate_partitions", candidatePartitions);
    result.put("candidate_files", candidateFiles);
    // a file larger than the target can appear once per split: count each file once
    Map<String, Long> rewrittenSizes = new HashMap<>();
    rewritten.forEach(f -> rewrittenSizes.put(f.location(), f.fileSizeInBytes()));
    result.put("rewritten_data_files", rewrittenSizes.size());
    result.put("added_data_files", added.size());
    result.put("rewritten_bytes", rewrittenSizes.values().stream().mapToLong(Long::longValue).sum());
    result.put("added_bytes", added.stream().mapToLong(DataFile::fileSizeInBytes).sum());
    result.put("snapshot_id", snapshotId);
    return result;
  }

  /**
   * Iceberg's Flink {@link RewriteDataFilesAction} with one safety check added between "rewrite"
   * and "commit": the files it wrote must hold exactly as many rows as the files they replace
   * (these tables have no delete files, so a bin-pack rewrite never changes the row count). The
   * rewritten files come back from the local Flink job through {@code executeAndCollect}; if
   * anything got lost on the way, committing would silently drop rows. On a mismatch the new files
   * are deleted and nothing is committed.
   */
  static final class VerifiedRewriteDataFilesAction extends RewriteDataFilesAction {
    private final Table table;
    private final Log log;

    VerifiedRewriteDataFilesAction(StreamExecutionEnvironment env, Table table, Log log) {
      super(env, table);
      this.table = table;
      this.log = log;
    }

    @Override
    protected List<DataFile> rewriteDataForTasks(List<CombinedScanTask> tasks) {
      List<DataFile> added = super.rewriteDataForTasks(tasks);
      verifyRowCounts(table, tasks, added, log);
      return added;
    }
  }

  /** Throws (after deleting the uncommitted output files) if the rewrite changed the row count. */
  static void verifyRowCounts(Table table, List<CombinedScanTask> tasks, List<DataFile> added, Log log) {
    Map<String, Long> inputRows = new HashMap<>();
    boolean hasDeletes = false;
    for (CombinedScanTask group : tasks) {
      for (FileScanTask task : group.files()) {
        inputRows.put(task.file().location(), task.file().recordCount());
        hasDeletes |= !task.deletes().isEmpty();
      }
    }
    long expected = inputRows.values().stream().mapToLong(Long::longValue).sum();
    long actual = added.stream().mapToLong(DataFile::recordCount).sum();
    boolean ok = hasDeletes ? actual <= expected : actual == expected;
    if (!ok) {
      for (DataFile f : added) {
        try {
          table.io().deleteFile(f.location());
        } catch (RuntimeException e) {
          log.info("could not delete uncommitted compaction output %s: %s", f.location(), e);
        }
      }
      throw new IllegalStateException(
          String.format(
              "compaction output has %d rows in %d files but its %d input files have %d rows; "
                  + "nothing was committed",
              actual, added.size(), inputRows.size(), expected));
    }
    log.info(
        "%s: row count verified: %d input files with %d rows -> %d files with %d rows",
        table.name(), inputRows.size(), expected, added.size(), actual);
  }
}
