package taxi.lakehouse.flink;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.SchemaParseException;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.TableFunction;
import org.apache.flink.types.Row;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Decodes one Kafka record value (raw bytes) in either wire format of the trip topic and
 * classifies it exactly like {@link ParseTaxiEvent}: one output row per input record.
 *
 * <p>Used as {@code FROM kafka_raw AS k, LATERAL TABLE(decode_taxi_event(k.payload_bytes,
 * 'avro', 'http://127.0.0.1:8085/apis/ccompat/v7')) AS e}. The row is {@code payload},
 * {@code schema_id}, then ParseTaxiEvent's fields. Formats:
 *
 * <ul>
 *   <li>{@code json}: the bytes are the UTF-8 JSON event; {@code payload} is that text and
 *       {@code schema_id} NULL.
 *   <li>{@code avro}: Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
 *       binary body written with that schema). The body is decoded with its writer schema from
 *       the registry and rendered as a JSON object (all writer fields, in schema order; see
 *       {@link AvroJson}), whose fields go through ParseTaxiEvent's rules (captured while decoding,
 *       not parsed back from the text). So Avro and JSON producers
 *       share one set of contract rules: a nullable VendorID that is null is
 *       {@code missing_field:VendorID} either way, and a v2 writer field such as
 *       {@code cbd_congestion_fee} comes through by name.
 * </ul>
 *
 * <p>Records that are not what they claim to be are dead-letter material, reported in
 * {@code reason} with {@code payload} NULL (the bronze SQL keeps the original bytes):
 * {@code avro:not_wire_format}, {@code avro:unknown_schema_id} (the registry answered 404),
 * {@code avro:undecodable} (the body does not decode with its writer schema, has bytes left
 * over, or the schema is not usable Avro), {@code avro:invalid_utf8} (a string that is not
 * UTF-8), and for JSON {@code invalid_utf8} (the message is not UTF-8 text). A registry that cannot be asked (down, 5xx,
 * timeout) is not the record's fault: that throws, so the job fails and is retried.
 *
 * <p>Writer schemas are fetched at most once per id and function instance. The Avro schema
 * classes are the copy relocated inside flink-sql-avro-confluent-registry (in Flink's lib/), so
 * this jar bundles none; the binary decoding itself is {@link AvroJson}'s, bounded against
 * hostile lengths.
 */
@FunctionHint(output = @DataTypeHint(DecodeTaxiEventTable.RESULT_TYPE))
public class DecodeTaxiEventTable extends TableFunction<Row> {

    private static final long serialVersionUID = 1L;

    /** The output row: the decoded payload and schema id, then ParseTaxiEvent's fields. */
    public static final String RESULT_TYPE =
            "ROW<payload STRING, schema_id INT, " + ParseTaxiEvent.RESULT_FIELDS + ">";

    /** Number of fields in {@link #RESULT_TYPE}. */
    public static final int RESULT_ARITY = 2 + ParseTaxiEvent.RESULT_ARITY;

    public static final String FORMAT_JSON = "json";
    public static final String FORMAT_AVRO = "avro";

    public static final String NOT_WIRE_FORMAT = "avro:not_wire_format";
    public static final String UNKNOWN_SCHEMA_ID = "avro:unknown_schema_id";
    public static final String UNDECODABLE = "avro:undecodable";
    /** An Avro string that is not valid UTF-8 (the Avro spec's string encoding). */
    public static final String AVRO_INVALID_UTF8 = "avro:invalid_utf8";
    /** A JSON message that is not valid UTF-8 (RFC 8259 requires it). */
    public static final String INVALID_UTF8 = "invalid_utf8";

    /** Confluent wire format: magic byte 0, then the schema id as a 4-byte big-endian int. */
    private static final byte MAGIC = 0;

    private static final int HEADER_LENGTH = 5;

    /**
     * Unknown ids remembered per instance, at most this many (then forgotten and asked again):
     * garbage with a valid magic byte carries random ids, and must neither query the registry
     * once per record nor grow the cache without bound.
     */
    private static final int MAX_UNKNOWN_IDS = 10_000;

    private final SchemaLookup lookup;

    private final ParseTaxiEvent parser = new ParseTaxiEvent();

    // ---- per-instance state, rebuilt lazily on the worker (not serialized) ----

    /** The registry URL the caches below belong to (the URL is expected to be a constant). */
    private transient String cachedRegistryUrl;

    /** Known schema ids -> writer schema. */
    private transient Map<Integer, Writer> writers;

    /** Schema ids the registry answered 404 for. */
    private transient Set<Integer> unknownIds;

    /** Flink's entry point: writer schemas come from the registry over HTTP. */
    public DecodeTaxiEventTable() {
        this(new HttpSchemaLookup());
    }

    /** For tests: any schema lookup, e.g. an in-memory map. */
    DecodeTaxiEventTable(SchemaLookup lookup) {
        this.lookup = lookup;
    }

    /**
     * @param payload the Kafka record value
     * @param format {@code json} or {@code avro}
     * @param registryUrl base URL of the Confluent-compatible registry API; used for
     *     {@code avro} only
     */
    public void eval(byte[] payload, String format, String registryUrl) {
        if (FORMAT_AVRO.equals(format)) {
            if (registryUrl == null || registryUrl.isBlank()) {
                throw new IllegalArgumentException(
                        "decode_taxi_event: format 'avro' needs a schema registry URL");
            }
            collect(decodeAvro(payload, registryUrl));
        } else if (FORMAT_JSON.equals(format)) {
            if (payload == null) {
                collect(withParsed(null, null, parser.eval(null)));
                return;
            }
            final String text;
            try {
                text = AvroJson.utf8(payload, 0, payload.length);
            } catch (AvroJson.InvalidUtf8Exception e) {
                collect(rejected(INVALID_UTF8, null));
                return;
            }
            collect(withParsed(text, null, parser.eval(text)));
        } else {
            throw new IllegalArgumentException(
                    "decode_taxi_event: unknown format '" + format + "'; allowed values: '"
                            + FORMAT_JSON + "', '" + FORMAT_AVRO + "'");
        }
    }

    @Override
    public boolean isDeterministic() {
        return true;
    }

    private Row decodeAvro(byte[] bytes, String registryUrl) {
        if (bytes == null || bytes.length < HEADER_LENGTH || bytes[0] != MAGIC) {
            return rejected(NOT_WIRE_FORMAT, null);
        }
        final int id = ((bytes[1] & 0xff) << 24)
                | ((bytes[2] & 0xff) << 16)
                | ((bytes[3] & 0xff) << 8)
                | (bytes[4] & 0xff);
        final Integer schemaId = Integer.valueOf(id);

        final Writer writer = writer(registryUrl, schemaId); // throws if the registry is down
        if (writer == null) {
            return rejected(UNKNOWN_SCHEMA_ID, schemaId);
        }
        if (writer.schema == null) {
            return rejected(UNDECODABLE, schemaId); // the id's schema is not usable Avro
        }

        final String json;
        final AvroJson.Fields fields = new AvroJson.Fields();
        try {
            json = AvroJson.decode(
                    writer.schema, bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, fields);
        } catch (AvroJson.InvalidUtf8Exception e) {
            return rejected(AVRO_INVALID_UTF8, schemaId);
        } catch (Exception | StackOverflowError e) {
            // EOF, negative or oversized length, bad union/enum index, bytes left over, ...: the
            // record's fault; the writer schema is fine (other records decode with it).
            return rejected(UNDECODABLE, schemaId);
        }
        // the contract fields were captured while decoding: the rules run without parsing the
        // text back, unless the record holds what only the parser can judge
        return withParsed(
                json,
                schemaId,
                fields.complete
                        ? ParseTaxiEvent.validateFields(fields.kinds, fields.texts)
                        : parser.eval(json));
    }

    /** The writer for a schema id, or NULL for an id the registry does not know. */
    private Writer writer(String registryUrl, Integer id) {
        if (writers == null || !registryUrl.equals(cachedRegistryUrl)) {
            writers = new HashMap<>();
            unknownIds = new HashSet<>();
            cachedRegistryUrl = registryUrl;
        }
        Writer writer = writers.get(id);
        if (writer != null) {
            return writer;
        }
        if (unknownIds.contains(id)) {
            return null;
        }
        final int value = id.intValue();
        final Schema schema;
        try {
            // Confluent and Apicurio ids are positive; do not ask about ids from garbage bytes
            schema = value < 0 ? null : lookup.byId(registryUrl, value);
        } catch (SchemaParseException e) {
            writer = new Writer(null); // known id, unusable schema: its records are undecodable
            writers.put(id, writer);
            return writer;
        }
        if (schema == null) {
            if (unknownIds.size() >= MAX_UNKNOWN_IDS) {
                unknownIds.clear();
            }
            unknownIds.add(id);
            return null;
        }
        writer = new Writer(schema);
        writers.put(id, writer);
        return writer;
    }

    /** payload, schema_id, then ParseTaxiEvent's row. */
    private static Row withParsed(String payload, Integer schemaId, Row parsed) {
        final Row row = new Row(RESULT_ARITY);
        row.setField(0, payload);
        row.setField(1, schemaId);
        for (int i = 0; i < ParseTaxiEvent.RESULT_ARITY; i++) {
            row.setField(2 + i, parsed.getField(i));
        }
        return row;
    }

    /**
     * A record that cannot be decoded: no payload text (the dead letter keeps the record's
     * original bytes from the Kafka record itself, see flink/sql/10_bronze.sql).
     */
    private static Row rejected(String reason, Integer schemaId) {
        final Row row = new Row(RESULT_ARITY);
        row.setField(0, null);
        row.setField(1, schemaId);
        row.setField(2, reason);
        return row;
    }

    /** A cached writer schema; {@code schema} NULL when the id's schema is not usable Avro. */
    private static final class Writer {
        final Schema schema;

        Writer(Schema schema) {
            this.schema = schema;
        }
    }
}
