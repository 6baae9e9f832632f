package taxi.lakehouse.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.CombinedScanTask;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericAppenderFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.encryption.EncryptedFiles;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.shaded.com.fasterxml.jackson.databind.JsonNode;
import org.apache.iceberg.shaded.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End-to-end tests on a real JdbcCatalog (SQLite) with a file warehouse: a partitioned v2 Parquet
 * table with ten tiny files appended in ten commits (7 files on one day, 3 on another).
 */
class MaintainTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Schema SCHEMA =
      new Schema(
          Types.NestedField.required(1, "trip_id", Types.LongType.get()),
          Types.NestedField.required(2, "pickup_date", Types.DateType.get()),
          Types.NestedField.optional(3, "fare", Types.DoubleType.get()),
          Types.NestedField.optional(4, "vendor", Types.StringType.get()));
  private static final PartitionSpec SPEC = PartitionSpec.builderFor(SCHEMA).identity("pickup_date").build();
  private static final LocalDate DAY_A = LocalDate.of(2024, 1, 1);
  private static final LocalDate DAY_B = LocalDate.of(2024, 1, 2);

  @TempDir Path dir;
  private Path propertiesFile;
  private Catalog catalog;
  private Table table;
  private List<String> rowsBefore;

  @BeforeEach
  void setUp() throws IOException {
    Path warehouse = dir.resolve("warehouse");
    Files.createDirectories(warehouse);
    propertiesFile = dir.resolve("catalog.properties");
    Files.writeString(
        propertiesFile,
        String.join(
            "\n",
            "uri=jdbc:sqlite:" + dir.resolve("iceberg.db"),
            "jdbc.schema-version=V1",
            "warehouse=" + warehouse.toUri(), // file:///...
            ""));
    catalog =
        CatalogUtil.buildIcebergCatalog(
            "lakehouse",
            Map.of(
                "catalog-impl", "org.apache.iceberg.jdbc.JdbcCatalog",
                "uri", "jdbc:sqlite:" + dir.resolve("iceberg.db"),
                "jdbc.schema-version", "V1",
                "warehouse", warehouse.toUri().toString()),
            new org.apache.hadoop.conf.Configuration());
    ((SupportsNamespaces) catalog).createNamespace(Namespace.of("silver"));
    table =
        catalog.createTable(
            TableIdentifier.of("silver", "trips"), SCHEMA, SPEC, Map.of("format-version", "2"));
    long id = 0;
    for (int commit = 0; commit < 10; commit++) {
      LocalDate day = commit < 7 ? DAY_A : DAY_B;
      List<Record> records = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        id++;
        GenericRecord r = GenericRecord.create(SCHEMA);
        r.setField("trip_id", id);
        r.setField("pickup_date", day);
        r.setField("fare", id * 1.25);
        r.setField("vendor", i % 2 == 0 ? "CMT" : null);
        records.add(r);
      }
      table.newAppend().appendFile(writeFile(table, records)).commit();
    }
    rowsBefore = rows(table);
    assertEquals(50, rowsBefore.size());
    assertEquals(10, dataFiles(table).size());
    assertEquals(10, size(table.snapshots()));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (catalog instanceof AutoCloseable) {
      ((AutoCloseable) catalog).close();
    }
  }

  @Test
  void compactionRewritesOnlyPartitionsWithEnoughSmallFilesAndKeepsRows() throws Exception {
    // a second table in the same run: the local Flink environment is reused for its job
    Table other =
        catalog.createTable(TableIdentifier.of("silver", "trips_b"), SCHEMA, PartitionSpec.unpartitioned());
    for (int i = 0; i < 6; i++) {
      GenericRecord rec = GenericRecord.create(SCHEMA);
      rec.setField("trip_id", 100L + i);
      rec.setField("pickup_date", DAY_A);
      other.newAppend().appendFile(writeFile(other, List.of(rec))).commit();
    }
    List<String> otherRows = rows(other);

    Result r = run("--table", "silver.trips", "--table", "silver.trips_b", "--compact", "--min-input-files", "5");
    assertEquals(0, r.exitCode, r.err);
    List<String> lines = r.out.strip().lines().collect(Collectors.toList());
    assertEquals(2, lines.size(), r.out);
    JsonNode otherReport = JSON.readTree(lines.get(1));
    assertEquals("silver.trips_b", otherReport.get("table").asText());
    assertEquals(6, otherReport.get("compaction").get("rewritten_data_files").asInt(), r.out);
    assertEquals(1, otherReport.get("data_files_after").asInt(), r.out);
    other.refresh();
    assertEquals(otherRows, rows(other));

    JsonNode report = JSON.readTree(lines.get(0));
    JsonNode c = report.get("compaction");
    assertEquals(Compactor.ENGINE, c.get("engine").asText());
    assertEquals(1, c.get("candidate_partitions").asInt());
    assertEquals(7, c.get("rewritten_data_files").asInt(), r.out);
    assertEquals(1, c.get("added_data_files").asInt(), r.out);
    assertTrue(c.get("rewritten_bytes").asLong() > 0);
    assertEquals(10, report.get("data_files_before").asInt());
    assertEquals(4, report.get("data_files_after").asInt());
    assertEquals(10, report.get("snapshots_before").asInt());
    assertEquals(11, report.get("snapshots_after").asInt());
    assertTrue(report.get("expired_snapshots").isNull());

    table.refresh();
    assertEquals(c.get("snapshot_id").asLong(), table.currentSnapshot().snapshotId());
    assertEquals("replace", table.currentSnapshot().operation());
    Map<LocalDate, Long> perDay =
        dataFiles(table).stream()
            .collect(
                Collectors.groupingBy(
                    f -> LocalDate.ofEpochDay(f.partition().get(0, Integer.class)), Collectors.counting()));
    assertEquals(Map.of(DAY_A, 1L, DAY_B, 3L), perDay);
    assertEquals(rowsBefore, rows(table));

    // a second run finds nothing left to do
    Result again = run("--table", "silver.trips", "--compact", "--min-input-files", "3", "--target-file-size-bytes", "1");
    assertEquals(0, again.exitCode, again.err);
    assertEquals(0, again.single().get("compaction").get("rewritten_data_files").asInt());
    assertEquals(0, again.single().get("compaction").get("candidate_partitions").asInt());
  }

  @Test
  void compactExpireAndRemoveOrphansInOneRunKeepsTableReadable() throws Exception {
    Path orphan = dataDir(DAY_A).resolve("00000-orphan-from-a-failed-write.parquet");
    Files.write(orphan, new byte[] {1, 2, 3});
    Files.setLastModifiedTime(orphan, FileTime.fromMillis(System.currentTimeMillis() - 10L * 86_400_000));
    Set<String> oldDataFiles = dataFiles(table).stream().map(DataFile::location).collect(Collectors.toSet());

    long now = System.currentTimeMillis();
    Result r =
        run(
            "--table", "silver.trips", "--compact", "--min-input-files", "2",
            "--expire-older-than-ms", String.valueOf(now + 60_000), "--retain-last", "1",
            "--remove-orphans-older-than-ms", String.valueOf(now - 86_400_000));
    assertEquals(0, r.exitCode, r.err);
    JsonNode report = r.single();
    assertEquals(10, report.get("compaction").get("rewritten_data_files").asInt());
    assertEquals(2, report.get("compaction").get("added_data_files").asInt());
    assertEquals(10, report.get("expired_snapshots").asInt(), r.out);
    assertEquals(1, report.get("snapshots_after").asInt());
    assertEquals(2, report.get("data_files_after").asInt());
    assertEquals(1, report.get("orphan_files_deleted").asInt(), r.out);
    assertTrue(report.get("orphan_files").get(0).asText().endsWith(orphan.getFileName().toString()));

    assertFalse(Files.exists(orphan));
    table.refresh();
    assertAllReachableFilesExist(table);
    assertEquals(rowsBefore, rows(table));

    // Iceberg's (incremental) expiry deletes the files a snapshot removed once *that* snapshot
    // expires: the 10 compacted-away files are unreferenced now, but still there (and too young
    // to be orphans) until the compaction snapshot itself expires
    assertEquals(10, report.get("orphan_scan").get("unreferenced_newer_files").asInt(), r.out);
    for (String f : oldDataFiles) {
      assertTrue(Files.exists(localPath(f)), f);
    }
    List<Record> extra = new ArrayList<>();
    GenericRecord rec = GenericRecord.create(SCHEMA);
    rec.setField("trip_id", 1000L);
    rec.setField("pickup_date", DAY_B);
    extra.add(rec);
    table.newAppend().appendFile(writeFile(table, extra)).commit();
    Result next =
        run("--table", "silver.trips", "--expire-older-than-ms", String.valueOf(System.currentTimeMillis() + 60_000), "--retain-last", "1");
    assertEquals(0, next.exitCode, next.err);
    assertEquals(1, next.single().get("expired_snapshots").asInt(), next.out);
    for (String f : oldDataFiles) {
      assertFalse(Files.exists(localPath(f)), "compacted-away file still there: " + f);
    }
    table.refresh();
    assertAllReachableFilesExist(table);
    List<String> expected = new ArrayList<>(rowsBefore);
    expected.add("1000|" + DAY_B + "|null|null");
    Collections.sort(expected);
    assertEquals(expected, rows(table));
  }

  @Test
  void expireSnapshotsRetainsLastN() throws Exception {
    Set<String> manifestListsBefore = new HashSet<>(ReachableFileUtil.manifestListLocations(table));
    Result r =
        run("--table", "silver.trips", "--expire-older-than-ms", String.valueOf(System.currentTimeMillis() + 60_000), "--retain-last", "3");
    assertEquals(0, r.exitCode, r.err);
    JsonNode report = r.single();
    assertEquals(7, report.get("expired_snapshots").asInt());
    assertEquals(10, report.get("snapshots_before").asInt());
    assertEquals(3, report.get("snapshots_after").asInt());
    assertTrue(report.get("compaction").isNull());

    table.refresh();
    assertEquals(3, size(table.snapshots()));
    assertEquals(rowsBefore, rows(table));
    assertAllReachableFilesExist(table);
    Set<String> manifestListsAfter = new HashSet<>(ReachableFileUtil.manifestListLocations(table));
    int deleted = 0;
    for (String ml : manifestListsBefore) {
      if (!manifestListsAfter.contains(ml)) {
        assertFalse(Files.exists(localPath(ml)), ml);
        deleted++;
      }
    }
    assertEquals(7, deleted);

    // nothing older than the threshold: nothing expires
    Result none = run("--table", "silver.trips", "--expire-older-than-ms", "1000", "--retain-last", "1");
    assertEquals(0, none.exitCode, none.err);
    assertEquals(0, none.single().get("expired_snapshots").asInt());
  }

  @Test
  void orphanRemovalDeletesOnlyOldUnreferencedFilesAndDryRunDeletesNothing() throws Exception {
    long now = System.currentTimeMillis();
    Path oldOrphan = dataDir(DAY_B).resolve("00001-old-orphan.parquet");
    Path newOrphan = dataDir(DAY_B).resolve("00002-new-orphan.parquet");
    Path oldMetadataOrphan = dir.resolve("warehouse/silver/trips/metadata/snap-orphan.avro");
    for (Path p : List.of(oldOrphan, newOrphan, oldMetadataOrphan)) {
      Files.write(p, new byte[] {0});
    }
    Files.setLastModifiedTime(oldOrphan, FileTime.fromMillis(now - 5L * 86_400_000));
    Files.setLastModifiedTime(oldMetadataOrphan, FileTime.fromMillis(now - 5L * 86_400_000));
    // an unreferenced file of a sibling table whose name shares the prefix must never be touched
    Path sibling = dir.resolve("warehouse/silver/trips_daily/data/x.parquet");
    Files.createDirectories(sibling.getParent());
    Files.write(sibling, new byte[] {0});
    Files.setLastModifiedTime(sibling, FileTime.fromMillis(now - 5L * 86_400_000));
    List<String> filesBefore = allFiles();

    String threshold = String.valueOf(now - 86_400_000);
    Result dry = run("--table", "silver.trips", "--remove-orphans-older-than-ms", threshold, "--dry-run");
    assertEquals(0, dry.exitCode, dry.err);
    JsonNode dryReport = dry.single();
    assertEquals(2, dryReport.get("orphan_files_found").asInt(), dry.out);
    assertEquals(0, dryReport.get("orphan_files_deleted").asInt());
    assertEquals(2, dryReport.get("orphan_files").size());
    assertEquals(filesBefore, allFiles(), "dry run must not delete anything");

    Result r = run("--table", "silver.trips", "--remove-orphans-older-than-ms", threshold);
    assertEquals(0, r.exitCode, r.err);
    JsonNode report = r.single();
    assertEquals(2, report.get("orphan_files_deleted").asInt(), r.out);
    assertEquals(1, report.get("orphan_scan").get("unreferenced_newer_files").asInt(), r.out);
    Set<String> reported = new HashSet<>();
    report.get("orphan_files").forEach(n -> reported.add(localPath(n.asText()).toString()));
    assertEquals(Set.of(oldOrphan.toString(), oldMetadataOrphan.toString()), reported);
    assertFalse(Files.exists(oldOrphan));
    assertFalse(Files.exists(oldMetadataOrphan));
    assertTrue(Files.exists(newOrphan));
    assertTrue(Files.exists(sibling));
    List<String> expectedLeft = new ArrayList<>(filesBefore);
    expectedLeft.remove(oldOrphan.toString());
    expectedLeft.remove(oldMetadataOrphan.toString());
    assertEquals(expectedLeft, allFiles());

    table.refresh();
    assertAllReachableFilesExist(table);
    assertEquals(rowsBefore, rows(table));
    assertEquals(10, size(table.snapshots()));
  }

  @Test
  void dryRunChangesNothing() throws Exception {
    long snapshotId = table.currentSnapshot().snapshotId();
    List<String> filesBefore = allFiles();
    Result r =
        run(
            "--table", "silver.trips", "--compact", "--min-input-files", "2",
            "--expire-older-than-ms", String.valueOf(System.currentTimeMillis() + 60_000), "--retain-last", "2",
            "--remove-orphans-older-than-ms", String.valueOf(System.currentTimeMillis() - 86_400_000),
            "--dry-run");
    assertEquals(0, r.exitCode, r.err);
    JsonNode report = r.single();
    assertTrue(report.get("dry_run").asBoolean());
    assertEquals(2, report.get("compaction").get("candidate_partitions").asInt());
    assertEquals(10, report.get("compaction").get("candidate_files").asInt());
    assertEquals(0, report.get("compaction").get("rewritten_data_files").asInt());
    assertTrue(report.get("compaction").get("snapshot_id").isNull());
    assertEquals(8, report.get("expired_snapshots").asInt());
    assertEquals(10, report.get("snapshots_after").asInt());
    table.refresh();
    assertEquals(snapshotId, table.currentSnapshot().snapshotId());
    assertEquals(10, size(table.snapshots()));
    assertEquals(filesBefore, allFiles());
  }

  @Test
  void failuresExitOneWithAClearMessage() throws Exception {
    Result missing = run("--table", "silver.trips", "--table", "silver.nope", "--expire-older-than-ms", "1000");
    assertEquals(1, missing.exitCode);
    assertEquals(1, missing.out.strip().lines().count(), "the first table was reported: " + missing.out);
    String error = lastLine(missing.err);
    assertTrue(error.startsWith("ERROR: maintenance of table silver.nope failed:"), error);
    assertTrue(error.contains("NoSuchTableException"), error);

    Result noOp = run("--table", "silver.trips");
    assertEquals(1, noOp.exitCode);
    assertTrue(noOp.err.contains("nothing to do"), noOp.err);
    assertEquals("", noOp.out);

    Result badNumber = run("--table", "silver.trips", "--compact", "--min-input-files", "many");
    assertEquals(1, badNumber.exitCode);
    assertTrue(badNumber.err.contains("--min-input-files expects an integer"), badNumber.err);

    Result noProps =
        runRaw("--catalog-name", "lakehouse", "--catalog-properties", dir.resolve("nope.properties").toString(), "--table", "silver.trips", "--compact");
    assertEquals(1, noProps.exitCode);
    assertTrue(lastLine(noProps.err).startsWith("ERROR: cannot read catalog properties file"), noProps.err);

    Result badTable = run("--table", "trips", "--compact");
    assertEquals(1, badTable.exitCode);
    assertTrue(badTable.err.contains("--table must be namespace.table"), badTable.err);

    Result help = runRaw("--help");
    assertEquals(0, help.exitCode);
    assertTrue(help.out.startsWith("Usage:"));
  }

  @Test
  void compactionOutputWithMissingRowsIsRejectedAndDeleted() throws Exception {
    List<CombinedScanTask> tasks = new ArrayList<>();
    try (CloseableIterable<CombinedScanTask> planned =
        table.newScan().filter(Expressions.equal("pickup_date", DAY_B.toString())).planTasks()) {
      planned.forEach(tasks::add);
    }
    List<Record> records = new ArrayList<>();
    for (String row : rowsBefore) {
      if (row.contains("|" + DAY_B + "|")) {
        GenericRecord r = GenericRecord.create(SCHEMA);
        r.setField("trip_id", Long.parseLong(row.substring(0, row.indexOf('|'))));
        r.setField("pickup_date", DAY_B);
        records.add(r);
      }
    }
    assertEquals(15, records.size());
    Log log = new Log(System.err);
    DataFile complete = writeFile(table, records);
    Compactor.verifyRowCounts(table, tasks, List.of(complete), log); // 15 rows in, 15 out: fine

    DataFile incomplete = writeFile(table, records.subList(0, 14));
    IllegalStateException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalStateException.class,
            () -> Compactor.verifyRowCounts(table, tasks, List.of(incomplete), log));
    assertTrue(e.getMessage().contains("has 14 rows") && e.getMessage().contains("have 15 rows"), e.getMessage());
    assertFalse(table.io().newInputFile(incomplete.location()).exists(), "uncommitted output deleted");
  }

  @Test
  void pathKeysIgnoreSchemeAuthorityAndSlashes() {
    assertEquals("/a/b", OrphanFileCleaner.key("file:/a/b"));
    assertEquals("/a/b", OrphanFileCleaner.key("file:///a/b"));
    assertEquals("/a/b", OrphanFileCleaner.key("/a//b/"));
    assertEquals("/wh/t/x.parquet", OrphanFileCleaner.key("s3://bucket/wh/t/x.parquet"));
    assertEquals("/wh/t/x.parquet", OrphanFileCleaner.key("s3a://bucket/wh//t/x.parquet"));
    assertEquals("/a/b=c:d", OrphanFileCleaner.key("file:/a/b=c:d"));
    assertEquals("{\"k\":\"v\\\"\\n\"}", Json.write(Map.of("k", "v\"\n")));
  }

  @Test
  void localListingSkipsFilesDeletedMidWalkAndFailsOnOtherErrors() throws Exception {
    // Flink's committer deletes its temporary manifests right after each checkpoint commit; one
    // that goes between the directory read and the attribute read must not fail the run
    List<org.apache.iceberg.io.FileInfo> seen = new ArrayList<>();
    OrphanFileCleaner.VanishingFilesVisitor visitor = new OrphanFileCleaner.VanishingFilesVisitor(seen);
    Path gone = dir.resolve("gone.avro");
    assertEquals(
        java.nio.file.FileVisitResult.CONTINUE,
        visitor.visitFileFailed(gone, new java.nio.file.NoSuchFileException(gone.toString())));
    assertEquals(
        java.nio.file.FileVisitResult.CONTINUE,
        visitor.postVisitDirectory(dir, new java.nio.file.NoSuchFileException(dir.toString())));
    org.junit.jupiter.api.Assertions.assertThrows(
        java.nio.file.AccessDeniedException.class,
        () -> visitor.visitFileFailed(gone, new java.nio.file.AccessDeniedException(gone.toString())));
    assertTrue(seen.isEmpty());

    // a real walk: regular files only, as file: URIs with size and modification time
    Path root = dir.resolve("walk");
    Files.createDirectories(root.resolve("a/b"));
    Files.write(root.resolve("a/b/x.parquet"), new byte[] {1, 2, 3});
    Files.write(root.resolve("y.avro"), new byte[] {1});
    Files.write(root.resolve(".y.avro.crc"), new byte[] {1});
    Map<String, Long> sizes = new java.util.TreeMap<>();
    for (org.apache.iceberg.io.FileInfo f : OrphanFileCleaner.listFiles(null, "file:" + root)) {
      assertTrue(f.location().startsWith("file:/"), f.location());
      assertTrue(f.createdAtMillis() > 0);
      sizes.put(localPath(f.location()).toString(), f.size());
    }
    assertEquals(
        Map.of(root.resolve("a/b/x.parquet").toString(), 3L, root.resolve("y.avro").toString(), 1L),
        sizes);
    assertFalse(OrphanFileCleaner.listFiles(null, root + "/missing").iterator().hasNext());
    assertEquals(Path.of("/a/b"), OrphanFileCleaner.localPath("file:///a/b"));
    assertEquals(Path.of("/a/b"), OrphanFileCleaner.localPath("/a/b"));
    assertEquals(null, OrphanFileCleaner.localPath("s3://bucket/a/b"));
  }

  // ---------------------------------------------------------------------------------------------

  private static final class Result {
    final int exitCode;
    final String out;
    final String err;

    Result(int exitCode, String out, String err) {
      this.exitCode = exitCode;
      this.out = out;
      this.err = err;
    }

    JsonNode single() throws IOException {
      List<String> lines = out.strip().lines().collect(Collectors.toList());
      assertEquals(1, lines.size(), out);
      return JSON.readTree(lines.get(0));
    }
  }

  private Result run(String... args) {
    List<String> all = new ArrayList<>(List.of("--catalog-name", "lakehouse", "--catalog-properties", propertiesFile.toString()));
    Collections.addAll(all, args);
    return runRaw(all.toArray(new String[0]));
  }

  private static Result runRaw(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      rc = Maintain.run(args, o, e);
    }
    String errText = err.toString(StandardCharsets.UTF_8);
    System.err.print(errText);
    return new Result(rc, out.toString(StandardCharsets.UTF_8), errText);
  }

  private static String lastLine(String s) {
    List<String> lines = s.strip().lines().collect(Collectors.toList());
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
  }

  static DataFile writeFile(Table table, List<Record> records) throws IOException {
    PartitionKey key = new PartitionKey(table.spec(), table.schema());
    key.partition(new InternalRecordWrapper(table.schema().asStruct()).wrap(records.get(0)));
    String location =
        table.locationProvider().newDataLocation(table.spec(), key, "00000-" + UUID.randomUUID() + ".parquet");
    DataWriter<Record> writer =
        new GenericAppenderFactory(table.schema(), table.spec())
            .newDataWriter(
                EncryptedFiles.plainAsEncryptedOutput(table.io().newOutputFile(location)),
                FileFormat.PARQUET,
                key);
    try (writer) {
      for (Record r : records) {
        writer.write(r);
      }
    }
    return writer.toDataFile();
  }

  private static List<String> rows(Table table) throws IOException {
    List<String> rows = new ArrayList<>();
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        rows.add(r.getField("trip_id") + "|" + r.getField("pickup_date") + "|" + r.getField("fare") + "|" + r.getField("vendor"));
      }
    }
    Collections.sort(rows);
    return rows;
  }

  private static List<DataFile> dataFiles(Table table) throws IOException {
    List<DataFile> files = new ArrayList<>();
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      tasks.forEach(t -> files.add(t.file().copy()));
    }
    return files;
  }

  private static Path localPath(String location) {
    return Paths.get(java.net.URI.create(location.replaceFirst("^file:/+", "file:///")));
  }

  private Path dataDir(LocalDate day) {
    return dir.resolve("warehouse/silver/trips/data/pickup_date=" + day);
  }

  /** Every file any snapshot/metadata of the table references exists on disk. */
  private static void assertAllReachableFilesExist(Table table) throws IOException {
    List<String> reachable = new ArrayList<>(ReachableFileUtil.metadataFileLocations(table, false));
    for (Snapshot s : table.snapshots()) {
      reachable.add(s.manifestListLocation());
      for (ManifestFile m : s.allManifests(table.io())) {
        reachable.add(m.path());
        try (ManifestReader<DataFile> reader = ManifestFiles.read(m, table.io(), table.specs())) {
          reader.forEach(f -> reachable.add(f.location()));
        }
      }
    }
    assertTrue(reachable.size() > 10);
    for (String f : reachable) {
      assertTrue(table.io().newInputFile(f).exists(), "referenced file missing: " + f);
    }
  }

  /** All regular files under the temp dir except the SQLite catalog and Hadoop .crc side files. */
  private List<String> allFiles() {
    try (Stream<Path> walk = Files.walk(dir.resolve("warehouse"))) {
      return walk.filter(Files::isRegularFile)
          .map(Path::toString)
          .filter(p -> !p.endsWith(".crc"))
          .sorted()
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int size(Iterable<?> it) {
    int n = 0;
    for (Object ignored : it) {
      n++;
    }
    return n;
  }
}
