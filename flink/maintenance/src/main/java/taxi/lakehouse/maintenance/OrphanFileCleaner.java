package taxi.lakehouse.maintenance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.ManifestContent;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.PartitionStatisticsFile;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.SupportsBulkOperations;
import org.apache.iceberg.io.SupportsPrefixOperations;

/**
 * Deletes files under the table's location that no table metadata references any more (e.g. data
 * files of failed or aborted writes, metadata of failed commits), if they are older than a given
 * time. Iceberg has an engine-independent version of this only in Spark ({@code
 * DeleteOrphanFilesSparkAction}); the Flink one ({@code org.apache.iceberg.flink.maintenance.api})
 * is an operator of a continuously running streaming maintenance job, so this is the same
 * algorithm on the plain Iceberg APIs:
 *
 * <ol>
 *   <li>list every file under the table location (and write.data.path / write.metadata.path if
 *       set): local directories with java.nio, object stores with the table's FileIO ({@link
 *       SupportsPrefixOperations}: S3FileIO, HadoopFileIO);
 *   <li>collect every reachable file: all metadata.json files of the metadata log, version hint,
 *       statistics files, and for every snapshot still in the metadata its manifest list, its
 *       manifests and the data/delete files they reference;
 *   <li>orphans = listed - reachable, restricted to files last modified before the threshold.
 * </ol>
 *
 * <p>Paths are compared by their path part only (scheme and authority dropped, repeated slashes
 * collapsed), so {@code file:/x}, {@code file:///x} and {@code /x}, or {@code s3://b/k} and {@code
 * s3a://b/k}, are the same file. This can only make more files count as reachable, never fewer.
 * Before deleting anything it checks that the current metadata file and every data/delete file of
 * the current snapshot was found by the listing; if not, the path spellings disagree and it
 * refuses to delete.
 */
final class OrphanFileCleaner {

  /** At most this many orphan paths are put into the JSON report (all are counted). */
  static final int MAX_REPORTED_PATHS = 1000;

  private static final long ONE_DAY_MS = 24L * 3600 * 1000;

  private final Log log;

  OrphanFileCleaner(Log log) {
    this.log = log;
  }

  Map<String, Object> run(Table table, long olderThanMs, boolean dryRun) {
    FileIO io = table.io();
    if (System.currentTimeMillis() - olderThanMs < ONE_DAY_MS) {
      log.info(
          "%s: WARNING orphan threshold is less than a day ago; files of in-flight or "
              + "to-be-restored streaming commits may look orphaned. Prefer >= 3 days.",
          table.name());
    }

    List<String> prefixes = listingPrefixes(table);

    // reachable files; those of the current snapshot separately for the sanity check
    Set<String> currentFiles = new HashSet<>();
    Set<String> reachable = reachableFiles(table, io, currentFiles);
    String currentMetadata = ((HasTableOperations) table).operations().current().metadataFileLocation();

    Set<String> listed = new HashSet<>();
    List<String> orphans = new ArrayList<>();
    int tooYoung = 0;
    for (String prefix : prefixes) {
      String prefixKey = key(prefix) + "/";
      for (FileInfo file : listFiles(io, prefix)) {
        String k = key(file.location());
        if (!k.startsWith(prefixKey)) {
          continue; // never touch anything outside the table's own directories
        }
        listed.add(k);
        if (reachable.contains(k)) {
          continue;
        }
        if (file.createdAtMillis() < olderThanMs) {
          orphans.add(file.location());
        } else {
          tooYoung++;
        }
      }
    }

    if (currentMetadata != null && !listed.contains(key(currentMetadata))) {
      throw new IllegalStateException(
          "sanity check failed: current metadata file "
              + currentMetadata
              + " was not found when listing "
              + prefixes
              + "; refusing to delete orphan files");
    }
    List<String> missing = new ArrayList<>();
    for (String k : currentFiles) {
      if (underAny(k, prefixes) && !listed.contains(k)) {
        missing.add(k);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          "sanity check failed: "
              + missing.size()
              + " file(s) of the current snapshot were not found when listing "
              + prefixes
              + " (e.g. "
              + missing.get(0)
              + "); refusing to delete orphan files");
    }

    log.info(
        "%s: listed %d files under %s, %d reachable, %d orphan(s) older than %d, %d unreferenced but newer",
        table.name(), listed.size(), prefixes, reachable.size(), orphans.size(), olderThanMs, tooYoung);

    if (!dryRun && !orphans.isEmpty()) {
      if (io instanceof SupportsBulkOperations) {
        ((SupportsBulkOperations) io).deleteFiles(orphans);
      } else {
        for (String orphan : orphans) {
          io.deleteFile(orphan);
        }
      }
      log.info("%s: deleted %d orphan file(s)", table.name(), orphans.size());
    }

    Map<String, Object> result = new LinkedHashMap<>();
    result.put("listed_files", listed.size());
    result.put("reachable_files", reachable.size());
    result.put("orphan_files_found", orphans.size());
    result.put("orphan_files_deleted", dryRun ? 0 : orphans.size());
    result.put("unreferenced_newer_files", tooYoung);
    result.put(
        "orphan_files",
        orphans.size() > MAX_REPORTED_PATHS ? orphans.subList(0, MAX_REPORTED_PATHS) : orphans);
    return result;
  }

  /**
   * Every file under {@code prefix}. A local directory is walked with java.nio, not the FileIO:
   * Hadoop's local listing reads each file's permissions with a forked {@code ls} when its native
   * library is absent (as here), which is slow and fails the whole run when a streaming commit
   * deletes one of its temporary manifests between the directory read and that {@code ls}. A file
   * that vanishes during the walk is skipped: a deleted file is no orphan. Object stores list
   * names with their metadata in one response, so they keep the FileIO listing.
   */
  static Iterable<FileInfo> listFiles(FileIO io, String prefix) {
    Path local = localPath(prefix);
    if (local == null) {
      if (!(io instanceof SupportsPrefixOperations)) {
        throw new IllegalStateException(
            "cannot list files to find orphans: FileIO "
                + io.getClass().getName()
                + " does not implement SupportsPrefixOperations");
      }
      return ((SupportsPrefixOperations) io).listPrefix(prefix + "/");
    }
    List<FileInfo> files = new ArrayList<>();
    if (!Files.isDirectory(local)) {
      return files;
    }
    try {
      Files.walkFileTree(local, new VanishingFilesVisitor(files));
    } catch (IOException e) {
      throw new UncheckedIOException("failed to list " + local, e);
    }
    return files;
  }

  /** The local path of a {@code file:} or scheme-less location; null for any other scheme. */
  static Path localPath(String location) {
    String scheme = scheme(location);
    if (scheme == null) {
      return Path.of(location);
    }
    return scheme.equalsIgnoreCase("file") ? Path.of(key(location)) : null;
  }

  /**
   * Collects regular files but Hadoop's {@code .name.crc} checksums (as Hadoop's own listing
   * does); tolerates files and directories deleted while it walks.
   */
  static final class VanishingFilesVisitor extends SimpleFileVisitor<Path> {
    private final List<FileInfo> files;

    VanishingFilesVisitor(List<FileInfo> files) {
      this.files = files;
    }

    @Override
    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
      String name = file.getFileName().toString();
      if (name.startsWith(".") && name.endsWith(".crc")) {
        // Hadoop's local checksum of a file, hidden by its listing and deleted with the file
        return FileVisitResult.CONTINUE;
      }
      if (attrs.isRegularFile()) {
        files.add(
            new FileInfo(
                file.toUri().toString(),
                attrs.size(),
                attrs.lastModifiedTime().toMillis()));
      }
      return FileVisitResult.CONTINUE;
    }

    @Override
    public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
      if (e instanceof NoSuchFileException) {
        return FileVisitResult.CONTINUE; // deleted after its directory was read
      }
      throw e;
    }

    @Override
    public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
      if (e != null && !(e instanceof NoSuchFileException)) {
        throw e;
      }
      return FileVisitResult.CONTINUE;
    }
  }

  /** The table location plus write.data.path / write.metadata.path when they point elsewhere. */
  static List<String> listingPrefixes(Table table) {
    List<String> candidates = new ArrayList<>();
    candidates.add(table.location());
    for (String p :
        new String[] {
          "write.data.path",
          "write.object-storage.path",
          "write.folder-storage.path",
          "write.metadata.path"
        }) {
      String v = table.properties().get(p);
      if (v != null && !v.isBlank()) {
        candidates.add(v);
      }
    }
    List<String> prefixes = new ArrayList<>();
    Set<String> prefixKeys = new HashSet<>();
    for (String c : candidates) {
      String trimmed = stripTrailingSlashes(c);
      String k = key(trimmed);
      boolean covered = false;
      for (String other : candidates) {
        String o = key(stripTrailingSlashes(other));
        if (!o.equals(k) && (k + "/").startsWith(o + "/")) {
          covered = true; // inside another location that is listed anyway
        }
      }
      if (!covered && prefixKeys.add(k)) {
        prefixes.add(trimmed);
      }
    }
    return prefixes;
  }

  private static Set<String> reachableFiles(Table table, FileIO io, Set<String> currentFiles) {
    Set<String> reachable = new HashSet<>();
    for (String f : ReachableFileUtil.metadataFileLocations(table, true)) {
      reachable.add(key(f));
    }
    reachable.add(key(ReachableFileUtil.versionHintLocation(table)));
    for (String f : ReachableFileUtil.statisticsFilesLocations(table)) {
      reachable.add(key(f));
    }
    for (PartitionStatisticsFile f : table.partitionStatisticsFiles()) {
      reachable.add(key(f.path()));
    }

    Map<Integer, PartitionSpec> specs = table.specs();
    Set<String> seenManifests = new HashSet<>();
    Snapshot current = table.currentSnapshot();
    List<Snapshot> snapshots = new ArrayList<>();
    if (current != null) {
      snapshots.add(current); // first, so that its files are collected into currentFiles
    }
    for (Snapshot s : table.snapshots()) {
      snapshots.add(s);
    }
    for (Snapshot snapshot : snapshots) {
      boolean isCurrent = current != null && snapshot.snapshotId() == current.snapshotId();
      if (snapshot.manifestListLocation() != null) {
        reachable.add(key(snapshot.manifestListLocation()));
      }
      for (ManifestFile manifest : snapshot.allManifests(io)) {
        String manifestKey = key(manifest.path());
        if (!seenManifests.add(manifestKey)) {
          continue;
        }
        reachable.add(manifestKey);
        if (isCurrent) {
          currentFiles.add(manifestKey);
        }
        try {
          if (manifest.content() == ManifestContent.DATA) {
            try (ManifestReader<DataFile> reader = ManifestFiles.read(manifest, io, specs)) {
              for (DataFile f : reader.select(List.of("file_path"))) {
                add(reachable, isCurrent ? currentFiles : null, f.location());
              }
            }
          } else {
            try (ManifestReader<DeleteFile> reader =
                ManifestFiles.readDeleteManifest(manifest, io, specs)) {
              for (DeleteFile f : reader.select(List.of("file_path"))) {
                add(reachable, isCurrent ? currentFiles : null, f.location());
              }
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException("failed to read manifest " + manifest.path(), e);
        }
      }
    }
    return reachable;
  }

  private static void add(Set<String> reachable, Set<String> current, String location) {
    String k = key(location);
    reachable.add(k);
    if (current != null) {
      current.add(k);
    }
  }

  private static boolean underAny(String key, List<String> prefixes) {
    for (String p : prefixes) {
      if (key.startsWith(key(p) + "/")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Comparison key of a file location: the path without scheme and authority, repeated slashes
   * collapsed, no trailing slash. {@code file:/a/b}, {@code file:///a/b}, {@code /a/b} and {@code
   * s3://bucket/a/b} all map to {@code /a/b}.
   */
  static String key(String location) {
    String s = location;
    String scheme = scheme(s);
    if (scheme != null) {
      s = s.substring(scheme.length() + 1);
      if (s.startsWith("//")) {
        int next = s.indexOf('/', 2);
        s = next < 0 ? "/" : s.substring(next);
      }
    }
    StringBuilder sb = new StringBuilder(s.length() + 1);
    if (!s.startsWith("/")) {
      sb.append('/');
    }
    char prev = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '/' && prev == '/') {
        continue;
      }
      sb.append(c);
      prev = c;
    }
    while (sb.length() > 1 && sb.charAt(sb.length() - 1) == '/') {
      sb.setLength(sb.length() - 1);
    }
    return sb.toString();
  }

  /** The scheme of a location ({@code file}, {@code s3}, ...), or null when it has none. */
  private static String scheme(String location) {
    int colon = location.indexOf(':');
    int slash = location.indexOf('/');
    return colon > 0 && (slash < 0 || colon < slash) ? location.substring(0, colon) : null;
  }

  private static String stripTrailingSlashes(String s) {
    String r = s;
    while (r.endsWith("/") && !r.endsWith("://")) {
      r = r.substring(0, r.length() - 1);
    }
    return r;
  }
}
