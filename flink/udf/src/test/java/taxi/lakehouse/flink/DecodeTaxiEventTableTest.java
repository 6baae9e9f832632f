package taxi.lakehouse.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.SchemaParseException;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericData;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumReader;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumWriter;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.avro.shaded.org.apache.avro.io.BinaryDecoder;
import org.apache.flink.avro.shaded.org.apache.avro.io.BinaryEncoder;
import org.apache.flink.avro.shaded.org.apache.avro.io.DecoderFactory;
import org.apache.flink.avro.shaded.org.apache.avro.io.EncoderFactory;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.functions.FunctionDefinition;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.CallContext;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

class DecodeTaxiEventTableTest {

    /** Field positions in the output row: payload, schema_id, then ParseTaxiEvent's fields. */
    static final int PAYLOAD = 0, SCHEMA_ID = 1, REASON = 2, TRIP_KEY = 3, VENDOR_ID = 4,
            PICKUP_TS = 5, STORE_AND_FWD_FLAG = 10, PU_LOCATION_ID = 11, FARE_AMOUNT = 14,
            TOTAL_AMOUNT = 20, AIRPORT_FEE = 22, CBD_CONGESTION_FEE = 23;

    static final String URL = "http://registry.invalid/apis/ccompat/v7";

    // ---------------------------------------------------------------- the trip schema (Avro)

    static String nullable(String name, String type) {
        return "{\"name\":\"" + name + "\",\"type\":[\"null\",\"" + type + "\"],\"default\":null}";
    }

    static String field(String name, String type) {
        return "{\"name\":\"" + name + "\",\"type\":\"" + type + "\"}";
    }

    /** The trip contract as an Avro record taxi.RawTrip (contracts/raw_trip.avsc, test_schema_registry_native). */
    static final List<String> FIELDS_V1 = List.of(
            field("VendorID", "int"),
            field("tpep_pickup_datetime", "string"),
            field("tpep_dropoff_datetime", "string"),
            nullable("passenger_count", "int"),
            field("trip_distance", "double"),
            nullable("RatecodeID", "int"),
            nullable("store_and_fwd_flag", "string"),
            field("PULocationID", "int"),
            field("DOLocationID", "int"),
            field("payment_type", "int"),
            field("fare_amount", "double"),
            field("extra", "double"),
            field("mta_tax", "double"),
            field("tip_amount", "double"),
            field("tolls_amount", "double"),
            field("improvement_surcharge", "double"),
            field("total_amount", "double"),
            nullable("congestion_surcharge", "double"),
            nullable("Airport_fee", "double"));

    static Schema schema(List<String> fields) {
        return new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"RawTrip\",\"namespace\":\"taxi\","
                + "\"fields\":[" + String.join(",", fields) + "]}");
    }

    static final Schema V1 = schema(FIELDS_V1);

    /** v2 (backward compatible): plus the optional cbd_congestion_fee. */
    static final Schema V2 = schema(concat(FIELDS_V1, nullable("cbd_congestion_fee", "double")));

    static List<String> concat(List<String> a, String b) {
        List<String> out = new ArrayList<>(a);
        out.add(b);
        return out;
    }

    /** The trip of ParseTaxiEventTest.valid(), as an Avro record of the given schema. */
    static GenericRecord trip(Schema schema) {
        GenericRecord r = new GenericData.Record(schema);
        r.put("VendorID", 2);
        r.put("tpep_pickup_datetime", "2026-01-05 08:15:00");
        r.put("tpep_dropoff_datetime", "2026-01-05 08:32:10");
        r.put("passenger_count", 1);
        r.put("trip_distance", 3.2);
        r.put("RatecodeID", 1);
        r.put("store_and_fwd_flag", "N");
        r.put("PULocationID", 161);
        r.put("DOLocationID", 236);
        r.put("payment_type", 1);
        r.put("fare_amount", 17.7);
        r.put("extra", 2.5);
        r.put("mta_tax", 0.5);
        r.put("tip_amount", 4.44);
        r.put("tolls_amount", 0.0);
        r.put("improvement_surcharge", 1.0);
        r.put("total_amount", 28.64);
        r.put("congestion_surcharge", 2.5);
        r.put("Airport_fee", 0.0);
        return r;
    }

    /**
     * The same trip as the generator's JSON producer writes it
     * ({@code json.dumps(record, separators=(",", ":"))}).
     */
    static final String TRIP_JSON = "{\"VendorID\":2,\"tpep_pickup_datetime\":\"2026-01-05 08:15:00\","
            + "\"tpep_dropoff_datetime\":\"2026-01-05 08:32:10\",\"passenger_count\":1,"
            + "\"trip_distance\":3.2,\"RatecodeID\":1,\"store_and_fwd_flag\":\"N\",\"PULocationID\":161,"
            + "\"DOLocationID\":236,\"payment_type\":1,\"fare_amount\":17.7,\"extra\":2.5,\"mta_tax\":0.5,"
            + "\"tip_amount\":4.44,\"tolls_amount\":0.0,\"improvement_surcharge\":1.0,"
            + "\"total_amount\":28.64,\"congestion_surcharge\":2.5,\"Airport_fee\":0.0}";

    /** Confluent wire format: magic 0, big-endian schema id, Avro binary body. */
    static byte[] wire(int schemaId, GenericRecord record) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(0);
            out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
            BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
            new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, enc);
            enc.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] header(int schemaId) {
        return ByteBuffer.allocate(5).put((byte) 0).putInt(schemaId).array();
    }

    static byte[] join(byte[] a, byte... b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    // ---------------------------------------------------------------- harness

    /** In-memory registry: counts lookups, so the cache can be checked. */
    static final class MapLookup implements SchemaLookup {
        final Map<Integer, Schema> schemas = new HashMap<>();
        final AtomicInteger calls = new AtomicInteger();

        MapLookup with(int id, Schema s) {
            schemas.put(id, s);
            return this;
        }

        @Override
        public Schema byId(String registryUrl, int id) {
            calls.incrementAndGet();
            assertEquals(URL, registryUrl);
            return schemas.get(id);
        }
    }

    final MapLookup registry = new MapLookup().with(1, V1).with(2, V2);

    /** Runs the table function on one input and returns its only output row. */
    static Row decode(DecodeTaxiEventTable f, byte[] payload, String format, String url) {
        List<Row> rows = new ArrayList<>();
        f.setCollector(new Collector<>() {
            @Override
            public void collect(Row row) {
                rows.add(row);
            }

            @Override
            public void close() {}
        });
        f.eval(payload, format, url);
        assertEquals(1, rows.size(), "exactly one row per input");
        Row row = rows.get(0);
        assertEquals(DecodeTaxiEventTable.RESULT_ARITY, row.getArity());
        return row;
    }

    final DecodeTaxiEventTable udf = new DecodeTaxiEventTable(registry);

    /**
     * Every Avro row of these tests is also a differential check: the contract's rules ran on the
     * fields captured while decoding, and must give what parsing the rendered text gives.
     */
    Row avro(byte[] payload) {
        Row row = decode(udf, payload, "avro", URL);
        if (row.getField(PAYLOAD) != null) {
            String text = (String) row.getField(PAYLOAD);
            assertEquals(Arrays.asList(toArray(new ParseTaxiEvent().eval(text))), typed(row), text);
        }
        return row;
    }

    Row json(byte[] payload) {
        return decode(udf, payload, "json", null);
    }

    /** The ParseTaxiEvent part of a row. */
    static List<Object> typed(Row row) {
        List<Object> out = new ArrayList<>();
        for (int i = REASON; i < row.getArity(); i++) {
            out.add(row.getField(i));
        }
        return out;
    }

    static void assertRejected(Row row, String reason, byte[] raw, Integer schemaId) {
        assertEquals(reason, row.getField(REASON));
        // no payload text: bronze keeps the original bytes from the Kafka record (raw is what the
        // dead letter then holds, exactly)
        assertNull(row.getField(PAYLOAD), "payload of " + Arrays.toString(raw));
        assertEquals(schemaId, row.getField(SCHEMA_ID));
        for (int i = TRIP_KEY; i < row.getArity(); i++) {
            assertNull(row.getField(i), "field " + i + " must be NULL for a rejected record");
        }
    }

    // ---------------------------------------------------------------- valid records

    @Test
    void validAvroRecordGivesTheSameRowAsTheJsonPath() {
        Row a = avro(wire(1, trip(V1)));
        assertNull(a.getField(REASON));
        assertEquals(1, a.getField(SCHEMA_ID));
        // rendered exactly as the generator's JSON producer writes the same trip ...
        assertEquals(TRIP_JSON, a.getField(PAYLOAD));
        // ... so every typed value, trip_key included, is the JSON path's
        Row j = json(TRIP_JSON.getBytes(StandardCharsets.UTF_8));
        assertEquals(typed(j), typed(a));
        assertEquals("2|2026-01-05 08:15:00|2026-01-05 08:32:10|161|236|3.2|28.64", a.getField(TRIP_KEY));
        assertEquals(2, a.getField(VENDOR_ID));
        assertEquals(LocalDateTime.of(2026, 1, 5, 8, 15, 0), a.getField(PICKUP_TS));
        assertEquals(new BigDecimal("17.70"), a.getField(FARE_AMOUNT));
        assertEquals(new BigDecimal("0.00"), a.getField(AIRPORT_FEE));
        assertNull(a.getField(CBD_CONGESTION_FEE));
        // and the ParseTaxiEvent part is ParseTaxiEvent's own row
        assertEquals(typed(a), Arrays.asList(toArray(new ParseTaxiEvent().eval(TRIP_JSON))));
    }

    static Object[] toArray(Row r) {
        Object[] out = new Object[r.getArity()];
        for (int i = 0; i < out.length; i++) {
            out[i] = r.getField(i);
        }
        return out;
    }

    @Test
    void duplicateBytesGiveTheSameTripKeyAndOneLookup() {
        byte[] bytes = wire(1, trip(V1));
        Row first = avro(bytes);
        Row second = avro(bytes.clone());
        assertNotNull(first.getField(TRIP_KEY));
        assertEquals(first.getField(TRIP_KEY), second.getField(TRIP_KEY));
        assertEquals(first, second);
        assertEquals(1, registry.calls.get(), "a schema id is fetched once per instance");
    }

    @Test
    void v2WriterSchemaCarriesCbdCongestionFee() {
        GenericRecord r = trip(V2);
        r.put("cbd_congestion_fee", 0.75);
        Row row = avro(wire(2, r));
        assertNull(row.getField(REASON));
        assertEquals(2, row.getField(SCHEMA_ID));
        assertEquals(new BigDecimal("0.75"), row.getField(CBD_CONGESTION_FEE));
        assertTrue(((String) row.getField(PAYLOAD)).endsWith(",\"Airport_fee\":0.0,\"cbd_congestion_fee\":0.75}"));
        // not part of the trip key: same trip_key as the v1 encoding of the trip
        assertEquals(avro(wire(1, trip(V1))).getField(TRIP_KEY), row.getField(TRIP_KEY));

        Row absent = avro(wire(2, trip(V2))); // v2, fee null
        assertNull(absent.getField(REASON));
        assertNull(absent.getField(CBD_CONGESTION_FEE));
        assertTrue(((String) absent.getField(PAYLOAD)).endsWith(",\"cbd_congestion_fee\":null}"));
    }

    @Test
    void contractRulesApplyToAvroRecords() {
        // a writer schema where VendorID is nullable, and null: missing, as in JSON
        List<String> fields = new ArrayList<>(FIELDS_V1);
        fields.set(0, nullable("VendorID", "int"));
        Schema nullableVendor = schema(fields);
        GenericRecord r = trip(nullableVendor);
        r.put("VendorID", null);
        registry.with(10, nullableVendor);
        Row row = avro(wire(10, r));
        assertEquals("missing_field:VendorID", row.getField(REASON));
        assertEquals(10, row.getField(SCHEMA_ID));
        assertTrue(((String) row.getField(PAYLOAD)).startsWith("{\"VendorID\":null,"));
        assertNull(row.getField(TRIP_KEY));

        // a writer schema where a zone id is a string: wrong_type unless it is digits
        fields = new ArrayList<>(FIELDS_V1);
        fields.set(7, field("PULocationID", "string"));
        Schema stringZone = schema(fields);
        registry.with(11, stringZone);
        r = trip(stringZone);
        r.put("PULocationID", "JFK");
        assertEquals("wrong_type:PULocationID", avro(wire(11, r)).getField(REASON));
        r.put("PULocationID", "161");
        assertEquals(161, avro(wire(11, r)).getField(PU_LOCATION_ID));

        // a writer schema without a required field
        registry.with(12, schema(FIELDS_V1.subList(0, 16))); // up to improvement_surcharge
        GenericRecord partial = new GenericData.Record(registry.schemas.get(12));
        for (Schema.Field f : partial.getSchema().getFields()) {
            partial.put(f.name(), trip(V1).get(f.name()));
        }
        assertEquals("missing_field:total_amount", avro(wire(12, partial)).getField(REASON));
    }

    @Test
    void stringsAreEscapedAndComeBackUnchanged() {
        String nasty = "a\"b\\c\n\t\u0001\u00e9\ud83d\ude95</script>";
        GenericRecord r = trip(V1);
        r.put("store_and_fwd_flag", nasty);
        Row row = avro(wire(1, r));
        assertNull(row.getField(REASON));
        assertEquals(nasty, row.getField(STORE_AND_FWD_FLAG));
    }

    /** A lone double or float as Avro binary, rendered by AvroJson. */
    static String render(double d) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        enc.writeDouble(d);
        enc.flush();
        return AvroJson.decode(Schema.create(Schema.Type.DOUBLE), out.toByteArray(), 0, out.size());
    }

    static String render(float f) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        enc.writeFloat(f);
        enc.flush();
        return AvroJson.decode(Schema.create(Schema.Type.FLOAT), out.toByteArray(), 0, out.size());
    }

    @Test
    void doublesRenderAsTheGeneratorWritesThem() throws IOException {
        // every cent amount below $1000: the text Python's repr/json.dumps gives (so trip_key
        // and trip_id agree between the Avro and the JSON producer of the same trip)
        for (int cents = 0; cents < 100_000; cents++) {
            String plain = BigDecimal.valueOf(cents, 2).stripTrailingZeros().toPlainString();
            String expected = plain.contains(".") ? plain : plain + ".0";
            assertEquals(expected, render(cents / 100.0), "cents " + cents);
        }
        // shortest repr on every JVM (JDK 17's Double.toString gives 2.82879384806159008E17)
        assertEquals("2.82879384806159E17", render(2.82879384806159E17));
        assertEquals("1.0E7", render(1.0E7));
        assertEquals("1.0E-4", render(1.0E-4));
        assertEquals("-0.0", render(-0.0));
        assertEquals("\"NaN\"", render(Double.NaN));
        assertEquals("0.1", render(0.1f));
    }

    @Test
    void nonFiniteNumbersAreOutOfRange() {
        GenericRecord r = trip(V1);
        r.put("fare_amount", Double.NaN);
        assertEquals("out_of_range:fare_amount", avro(wire(1, r)).getField(REASON));
        r = trip(V1);
        r.put("trip_distance", Double.POSITIVE_INFINITY);
        assertEquals("out_of_range:trip_distance", avro(wire(1, r)).getField(REASON));
        r = trip(V1);
        r.put("total_amount", 1e15);
        assertEquals("out_of_range:total_amount", avro(wire(1, r)).getField(REASON));
    }

    @Test
    void stringThatIsNotUtf8IsDeadLettered() {
        byte[] ok = wire(1, trip(V1));
        // store_and_fwd_flag "N" -> 0xff (the Avro reader would turn it into U+FFFD silently)
        byte[] bad = ok.clone();
        int at = indexOf(bad, (byte) 'N');
        bad[at] = (byte) 0xff;
        assertRejected(avro(bad), "avro:invalid_utf8", bad, 1);
        assertEquals("invalid_utf8", json(new byte[] {'{', (byte) 0xc3, '}'}).getField(REASON));
        assertNull(json(new byte[] {'{', (byte) 0xc3, '}'}).getField(PAYLOAD));
    }

    private static int indexOf(byte[] b, byte v) {
        for (int i = 5; i < b.length; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        throw new AssertionError("byte not found");
    }

    @Test
    void otherAvroTypesRenderAsValidJson() {
        Schema s = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"X\",\"fields\":["
                + "{\"name\":\"b\",\"type\":\"bytes\"},"
                + "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
                + "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
                + "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"float\"}},"
                + "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
                + "{\"name\":\"t\",\"type\":\"boolean\"},"
                + "{\"name\":\"n\",\"type\":{\"type\":\"record\",\"name\":\"N\",\"fields\":[{\"name\":\"x\",\"type\":\"null\"}]}}"
                + "]}");
        GenericRecord r = new GenericData.Record(s);
        r.put("b", ByteBuffer.wrap(new byte[] {1, 2, (byte) 0xff}));
        r.put("f", new GenericData.Fixed(s.getField("f").schema(), new byte[] {'h', 'i'}));
        r.put("a", List.of(1L, -9000000000L));
        r.put("m", Map.of("k", 1.5f));
        r.put("e", new GenericData.EnumSymbol(s.getField("e").schema(), "B"));
        r.put("t", true);
        r.put("n", new GenericData.Record(s.getField("n").schema()));
        registry.with(20, s);
        Row row = avro(wire(20, r));
        assertEquals("{\"b\":\"AQL/\",\"f\":\"aGk=\",\"a\":[1,-9000000000],\"m\":{\"k\":1.5},\"e\":\"B\","
                + "\"t\":true,\"n\":{\"x\":null}}", row.getField(PAYLOAD));
        assertEquals("missing_field:VendorID", row.getField(REASON));
        assertEquals(20, row.getField(SCHEMA_ID));
    }

    @Test
    void contractFieldsAreCapturedWhileDecoding() throws IOException {
        byte[] b = wire(1, trip(V1));
        AvroJson.Fields fields = new AvroJson.Fields();
        String text = AvroJson.decode(V1, b, 5, b.length - 5, fields);
        assertEquals(TRIP_JSON, text);
        assertTrue(fields.complete, "a flat record needs no parse");
        assertEquals("2", fields.texts[ParseTaxiEvent.fieldIndex("VendorID")]);
        assertEquals(ParseTaxiEvent.INT, fields.kinds[ParseTaxiEvent.fieldIndex("VendorID")]);
        assertEquals("3.2", fields.texts[ParseTaxiEvent.fieldIndex("trip_distance")]);
        assertEquals(ParseTaxiEvent.FLOAT, fields.kinds[ParseTaxiEvent.fieldIndex("tolls_amount")]);
        assertEquals(ParseTaxiEvent.ABSENT, fields.kinds[ParseTaxiEvent.fieldIndex("cbd_congestion_fee")]);

        // a nested value anywhere: the parser judges the text (its nesting limit)
        List<String> nested = new ArrayList<>(FIELDS_V1);
        nested.add("{\"name\":\"extra_info\",\"type\":{\"type\":\"array\",\"items\":\"int\"}}");
        GenericRecord r = trip(schema(nested));
        r.put("extra_info", List.of(1, 2));
        byte[] n = wire(30, r);
        AvroJson.Fields partial = new AvroJson.Fields();
        AvroJson.decode(r.getSchema(), n, 5, n.length - 5, partial);
        assertTrue(!partial.complete);
        registry.with(30, r.getSchema());
        assertNull(avro(n).getField(REASON));
    }

    /**
     * Any Avro type and value in the contract's fields: the captured fields give the row that
     * parsing the rendered text gives (checked in {@link #avro}), valid or not.
     */
    @Test
    void capturedFieldsAgreeWithTheParserForEveryTopLevelType() {
        String[] types = {"int", "long", "float", "double", "string", "boolean", "bytes", "null",
            "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"N\",\"Y\",\"x1\"]}",
            "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}"};
        String[] strings = {"2", "-0", "12.50", "1.5e3", "2026-01-05 08:15:00", "2026-02-30 08:15:00",
            "N", "", "NaN", "-Infinity", "99999999999", "1e400", "0.001", "\u00e9\"\\"};
        double[] doubles = {0.0, -0.0, 3.2, 28.64, 1e-7, 1e-8, 1.0e8, 99999999.995, 12.345, 1e21,
            Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE, 5e-324};
        long[] longs = {0, -1, 2, 161, Integer.MAX_VALUE, Integer.MIN_VALUE, 2147483648L, Long.MIN_VALUE,
            Long.MAX_VALUE};
        List<String> v2 = concat(FIELDS_V1, nullable("cbd_congestion_fee", "double"));
        Random rnd = new Random(5);
        int valid = 0;
        for (int i = 0; i < 3_000; i++) {
            // the valid trip of schema v2, with one or two fields of another type, or absent
            List<String> fields = new ArrayList<>(v2);
            Map<String, Schema> changed = new HashMap<>();
            for (int c = 1 + rnd.nextInt(2); c > 0; c--) {
                int k = rnd.nextInt(fields.size());
                String f = fields.get(k);
                if (f == null) {
                    continue; // already removed
                }
                String name = f.substring(9, f.indexOf('"', 9));
                if (rnd.nextInt(8) == 0) {
                    fields.set(k, null);
                    continue;
                }
                String t = types[rnd.nextInt(types.length)].replace("\"E\"", "\"E" + k + "\"")
                        .replace("\"F\"", "\"F" + k + "\"");
                String type = t.startsWith("{") ? t : "\"" + t + "\"";
                if (rnd.nextBoolean() && !t.equals("null")) {
                    type = "[\"null\"," + type + "]";
                }
                fields.set(k, "{\"name\":\"" + name + "\",\"type\":" + type + "}");
                changed.put(name, null);
            }
            fields.removeIf(f -> f == null);
            Schema s = schema(fields);
            GenericRecord trip = trip(V2);
            GenericRecord r = new GenericData.Record(s);
            for (Schema.Field f : s.getFields()) {
                if (!changed.containsKey(f.name())) {
                    Object v = trip.get(f.name());
                    if (v instanceof Double && rnd.nextBoolean()) {
                        v = rnd.nextInt(100000) / 100.0; // amounts and distances of other trips
                    }
                    r.put(f.name(), v);
                    continue;
                }
                Schema fs = f.schema();
                if (fs.getType() == Schema.Type.UNION) {
                    if (rnd.nextInt(4) == 0) {
                        continue; // null
                    }
                    fs = fs.getTypes().get(1);
                }
                Object v = switch (fs.getType()) {
                    case INT -> (int) longs[rnd.nextInt(6)];
                    case LONG -> longs[rnd.nextInt(longs.length)];
                    case FLOAT -> (float) doubles[rnd.nextInt(doubles.length)];
                    case DOUBLE -> doubles[rnd.nextInt(doubles.length)];
                    case STRING -> strings[rnd.nextInt(strings.length)];
                    case BOOLEAN -> rnd.nextBoolean();
                    case BYTES -> ByteBuffer.wrap(strings[rnd.nextInt(strings.length)].getBytes(StandardCharsets.UTF_8));
                    case ENUM -> new GenericData.EnumSymbol(fs, fs.getEnumSymbols().get(rnd.nextInt(3)));
                    case FIXED -> new GenericData.Fixed(fs, new byte[] {(byte) rnd.nextInt(256), 'a', 0});
                    default -> null;
                };
                r.put(f.name(), v);
            }
            registry.with(1000 + i, s);
            Row row = avro(wire(1000 + i, r)); // compares every field with the parser's row
            assertNotNull(row.getField(PAYLOAD));
            if (row.getField(REASON) == null) {
                valid++;
            }
        }
        assertTrue(valid > 500, "enough valid rows to compare their typed values: " + valid);
    }

    // ---------------------------------------------------------------- not Avro / not decodable

    @Test
    void notWireFormat() {
        byte[] jsonBytes = TRIP_JSON.getBytes(StandardCharsets.UTF_8);
        byte[] magic1 = wire(1, trip(V1));
        magic1[0] = 1;
        for (byte[] bytes : new byte[][] {jsonBytes, {}, {0, 0, 0}, {0, 0, 0, 1}, magic1}) {
            assertRejected(avro(bytes), "avro:not_wire_format", bytes, null);
        }
        assertRejected(avro(null), "avro:not_wire_format", null, null);
        assertEquals(0, registry.calls.get(), "no registry call for a record that is not Avro");
    }

    @Test
    void unknownSchemaId() {
        byte[] bytes = wire(99, trip(V1));
        assertRejected(avro(bytes), "avro:unknown_schema_id", bytes, 99);
        assertRejected(avro(bytes), "avro:unknown_schema_id", bytes, 99);
        assertEquals(1, registry.calls.get(), "an unknown id is asked once per instance");

        // ids from garbage bytes that no registry hands out are not even asked
        byte[] negative = join(header(-5), wire(1, trip(V1)));
        assertRejected(avro(negative), "avro:unknown_schema_id", negative, -5);
        assertEquals(1, registry.calls.get());
    }

    @Test
    void truncatedBodyIsUndecodable() {
        byte[] full = wire(1, trip(V1));
        for (int len = 5; len < full.length; len++) {
            byte[] cut = Arrays.copyOf(full, len);
            assertRejected(avro(cut), "avro:undecodable", cut, 1);
        }
    }

    @Test
    void trailingBytesAreUndecodable() {
        byte[] extra = join(wire(1, trip(V1)), (byte) 0);
        assertRejected(avro(extra), "avro:undecodable", extra, 1);
        // a v2 body (one more field) read as v1: left-over bytes, not silently truncated
        GenericRecord r = trip(V2);
        r.put("cbd_congestion_fee", 0.75);
        byte[] v2AsV1 = join(header(1), Arrays.copyOfRange(wire(2, r), 5, wire(2, r).length));
        assertRejected(avro(v2AsV1), "avro:undecodable", v2AsV1, 1);
    }

    @Test
    void corruptBodiesAreUndecodable() {
        // VendorID = 2 (zig-zag 4), then a pickup string of length -1 (zig-zag 1)
        byte[] negativeLength = join(header(1), (byte) 4, (byte) 1);
        assertRejected(avro(negativeLength), "avro:undecodable", negativeLength, 1);
        // a string length far beyond the record
        byte[] hugeLength = join(header(1), (byte) 4, (byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x0f);
        assertRejected(avro(hugeLength), "avro:undecodable", hugeLength, 1);
        // a union branch index the schema does not have
        registry.with(30, new Schema.Parser().parse(
                "{\"type\":\"record\",\"name\":\"U\",\"fields\":[" + nullable("x", "int") + "]}"));
        byte[] badUnion = join(header(30), (byte) 10);
        assertRejected(avro(badUnion), "avro:undecodable", badUnion, 30);
        // a varint that never ends
        byte[] badVarint = join(header(1), (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff);
        assertRejected(avro(badVarint), "avro:undecodable", badVarint, 1);
        // an int varint of 5 bytes with more than 32 bits
        byte[] wideInt = join(header(1), (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f);
        assertRejected(avro(wideInt), "avro:undecodable", wideInt, 1);
        // and the instance keeps decoding good records afterwards
        assertNull(avro(wire(1, trip(V1))).getField(REASON));
    }

    /** A zig-zag varint, as Avro writes ints and longs. */
    static byte[] varint(long v) {
        long z = (v << 1) ^ (v >> 63);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((z & ~0x7FL) != 0) {
            out.write((int) ((z & 0x7f) | 0x80));
            z >>>= 7;
        }
        out.write((int) z);
        return out.toByteArray();
    }

    @Test
    void hostileLengthsCostNoMemory() {
        // Avro's own reader allocates the claimed length first: 1.9 GB for these 11 bytes
        byte[] hugeString = join(join(header(1), (byte) 4), varint(1_900_000_000L));
        assertRejected(avro(hugeString), "avro:undecodable", hugeString, 1);

        registry.with(40, new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"B\",\"fields\":["
                + "{\"name\":\"b\",\"type\":\"bytes\"}]}"));
        byte[] hugeBytes = join(header(40), varint(Long.MAX_VALUE / 2));
        assertRejected(avro(hugeBytes), "avro:undecodable", hugeBytes, 40);

        // an array of nulls takes no bytes per item: a block count alone must not make 1e18 of them
        registry.with(41, new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"A\",\"fields\":["
                + "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"null\"}}]}"));
        byte[] manyNulls = join(join(header(41), varint(1_000_000_000_000_000_000L)), (byte) 0);
        assertRejected(avro(manyNulls), "avro:undecodable", manyNulls, 41);
        byte[] negativeBlock = join(join(join(header(41), varint(Long.MIN_VALUE)), varint(0)), (byte) 0);
        assertRejected(avro(negativeBlock), "avro:undecodable", negativeBlock, 41);
        // a few are fine, also in a negative-count block (count, byte size, items)
        byte[] threeNulls = join(join(join(header(41), varint(-3)), varint(0)), (byte) 0);
        assertEquals("{\"a\":[null,null,null]}", avro(threeNulls).getField(PAYLOAD));
    }

    @Test
    void enumAndBooleanOutOfRange() {
        registry.with(42, new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"E\",\"fields\":["
                + "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"S\",\"symbols\":[\"A\",\"B\"]}},"
                + "{\"name\":\"t\",\"type\":\"boolean\"}]}"));
        assertEquals("{\"e\":\"B\",\"t\":true}", avro(join(join(header(42), varint(1)), (byte) 1)).getField(PAYLOAD));
        for (byte[] body : new byte[][] {join(varint(2), (byte) 1), join(varint(-1), (byte) 1), join(varint(0), (byte) 2)}) {
            byte[] bytes = join(header(42), body);
            assertRejected(avro(bytes), "avro:undecodable", bytes, 42);
        }
    }

    /**
     * Differential check against Avro's own reader on mutated trip records: whatever Avro reads
     * exactly (to the last byte) gives the same row here, and vice versa, and nothing throws.
     */
    @Test
    void agreesWithAvrosReaderOnMutatedRecords() throws IOException {
        Random rnd = new Random(11);
        byte[] base = wire(1, trip(V1));
        int decoded = 0;
        for (int i = 0; i < 10_000; i++) {
            byte[] b = base.clone();
            int edits = 1 + rnd.nextInt(3);
            for (int e = 0; e < edits; e++) {
                int pos = 5 + rnd.nextInt(b.length - 5);
                switch (rnd.nextInt(3)) {
                    case 0 -> b[pos] = (byte) rnd.nextInt(256);
                    case 1 -> b = Arrays.copyOf(b, Math.max(5, b.length - 1 - rnd.nextInt(3)));
                    default -> b = join(b, (byte) rnd.nextInt(256));
                }
                if (b.length <= 5) {
                    break;
                }
            }
            Row ours = avro(b);
            GenericRecord theirs = avroReader(V1, b);
            if ("avro:invalid_utf8".equals(ours.getField(REASON))) {
                continue; // stricter than Avro's reader, which replaces bad bytes with U+FFFD
            }
            if (theirs == null) {
                assertEquals("avro:undecodable", ours.getField(REASON), "Avro cannot read it: " + Arrays.toString(b));
            } else {
                decoded++;
                assertNotEquals("avro:undecodable", ours.getField(REASON), "Avro reads it: " + Arrays.toString(b));
                // the datum Avro read, re-encoded canonically, renders the same JSON as ours did
                assertEquals(ours.getField(PAYLOAD), avro(wire(1, theirs)).getField(PAYLOAD));
            }
        }
        assertTrue(decoded > 500, "enough mutations still decode to compare: " + decoded);
    }

    /** Avro's GenericDatumReader on a wire-format record; NULL unless it reads it exactly. */
    static GenericRecord avroReader(Schema schema, byte[] wire) {
        try {
            BinaryDecoder d = DecoderFactory.get().binaryDecoder(wire, 5, wire.length - 5, null);
            GenericRecord r = new GenericDatumReader<GenericRecord>(schema).read(null, d);
            return d.isEnd() ? r : null;
        } catch (Exception e) {
            return null;
        }
    }

    @Test
    void schemaThatIsNotUsableAvroIsUndecodable() {
        SchemaLookup lookup = (url, id) -> {
            throw new SchemaParseException("schema id " + id + " is a PROTOBUF schema, not Avro");
        };
        DecodeTaxiEventTable f = new DecodeTaxiEventTable(lookup);
        byte[] bytes = wire(7, trip(V1));
        assertRejected(decode(f, bytes, "avro", URL), "avro:undecodable", bytes, 7);
    }

    // ---------------------------------------------------------------- json format

    @Test
    void jsonFormat() {
        Row row = json(TRIP_JSON.getBytes(StandardCharsets.UTF_8));
        assertEquals(TRIP_JSON, row.getField(PAYLOAD));
        assertNull(row.getField(SCHEMA_ID));
        assertNull(row.getField(REASON));
        assertEquals(typed(row), Arrays.asList(toArray(new ParseTaxiEvent().eval(TRIP_JSON))));

        Row nul = json(null);
        assertNull(nul.getField(PAYLOAD));
        assertEquals("malformed_json", nul.getField(REASON));

        Row bad = json("{\"VendorID\":".getBytes(StandardCharsets.UTF_8));
        assertEquals("{\"VendorID\":", bad.getField(PAYLOAD));
        assertEquals("malformed_json", bad.getField(REASON));
        assertNull(bad.getField(SCHEMA_ID));

        // Avro bytes in json mode are not even UTF-8 text
        assertEquals("invalid_utf8", json(wire(1, trip(V1))).getField(REASON));
        assertEquals(0, registry.calls.get());
    }

    // ---------------------------------------------------------------- configuration / registry errors

    @Test
    void unknownFormatThrows() {
        for (String format : new String[] {"protobuf", "AVRO", "", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> udf.eval(new byte[] {1}, format, URL));
            assertTrue(e.getMessage().contains("'json'") && e.getMessage().contains("'avro'"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> udf.eval(wire(1, trip(V1)), "avro", null));
    }

    @Test
    void registryErrorThrowsInsteadOfDeadLettering() {
        SchemaLookup down = (url, id) -> {
            throw new IllegalStateException("schema registry unreachable for schema id " + id);
        };
        DecodeTaxiEventTable f = new DecodeTaxiEventTable(down);
        List<Row> rows = new ArrayList<>();
        f.setCollector(new Collector<>() {
            @Override
            public void collect(Row row) {
                rows.add(row);
            }

            @Override
            public void close() {}
        });
        RuntimeException e = assertThrows(RuntimeException.class, () -> f.eval(wire(1, trip(V1)), "avro", URL));
        assertTrue(e.getMessage().contains("unreachable"));
        assertTrue(rows.isEmpty(), "no row for a record that could not be looked at");
    }

    @Test
    void cacheBelongsToOneRegistryUrl() {
        decode(udf, wire(1, trip(V1)), "avro", URL);
        assertEquals(1, registry.calls.get());
        // a different URL never reuses the other registry's schemas (MapLookup asserts the URL,
        // so use a lookup that accepts any)
        AtomicInteger calls = new AtomicInteger();
        DecodeTaxiEventTable f = new DecodeTaxiEventTable((url, id) -> {
            calls.incrementAndGet();
            return V1;
        });
        decode(f, wire(1, trip(V1)), "avro", "http://a/");
        decode(f, wire(1, trip(V1)), "avro", "http://b/");
        decode(f, wire(1, trip(V1)), "avro", "http://b/");
        assertEquals(2, calls.get());
    }

    @Test
    void serializableAsFlinkShipsIt() throws Exception {
        DecodeTaxiEventTable used = new DecodeTaxiEventTable(); // the HTTP lookup
        byte[] plain = TRIP_JSON.getBytes(StandardCharsets.UTF_8);
        decode(used, plain, "json", null);
        byte[] serialized = InstantiationUtil.serializeObject(used);
        DecodeTaxiEventTable copy = InstantiationUtil.deserializeObject(serialized, getClass().getClassLoader());
        assertEquals(typed(decode(used, plain, "json", null)), typed(decode(copy, plain, "json", null)));
        assertArrayEquals(plain, ((String) decode(copy, plain, "json", null).getField(PAYLOAD)).getBytes(StandardCharsets.UTF_8));
        assertTrue(copy.isDeterministic());
    }

    // ---------------------------------------------------------------- Flink's view of the function

    static final String EXPECTED_TYPE = "ROW<`payload` STRING, `schema_id` INT, "
            + ParseTaxiEventTypeTest.EXPECTED.substring("ROW<".length());

    @Test
    void flinkInfersTheOutputRowType() {
        DecodeTaxiEventTable f = new DecodeTaxiEventTable();
        ParseTaxiEventTypeTest.Factory factory = new ParseTaxiEventTypeTest.Factory();
        TypeInference inference = f.getTypeInference(factory);
        List<DataType> args = List.of(DataTypes.BYTES(), DataTypes.STRING(), DataTypes.STRING());
        CallContext call = new CallContext() {
            @Override public DataTypeFactory getDataTypeFactory() { return factory; }
            @Override public FunctionDefinition getFunctionDefinition() { return f; }
            @Override public boolean isArgumentLiteral(int pos) { return pos > 0; }
            @Override public boolean isArgumentNull(int pos) { return false; }
            @Override public <T> Optional<T> getArgumentValue(int pos, Class<T> clazz) { return Optional.empty(); }
            @Override public String getName() { return "DECODE_TAXI_EVENT"; }
            @Override public List<DataType> getArgumentDataTypes() { return args; }
            @Override public Optional<DataType> getOutputDataType() { return Optional.empty(); }
            @Override public boolean isGroupedAggregation() { return false; }
        };
        // the eval signature is (BYTES, STRING, STRING)
        List<DataType> expectedArgs = inference.getInputTypeStrategy()
                .inferInputTypes(call, true).orElseThrow();
        assertEquals(args.toString(), expectedArgs.toString());
        DataType out = inference.getOutputTypeStrategy().inferType(call).orElseThrow();
        System.out.println("DecodeTaxiEventTable result type: " + out.getLogicalType().asSerializableString());
        assertEquals(EXPECTED_TYPE, out.getLogicalType().asSummaryString());
        assertEquals(Row.class, out.getConversionClass());
    }
}
