package taxi.lakehouse.flink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.io.NumberOutput;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;

import java.io.EOFException;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Decodes one Avro binary datum with its writer schema straight into JSON text, in one pass.
 *
 * <p>Why not Avro's own {@code GenericDatumReader}: the Kafka topic is untrusted input, and the
 * Avro 1.11.4 reader (the copy shaded into flink-sql-avro-confluent-registry) allocates a
 * string/bytes value of the length the data claims before it checks that the bytes exist, so a
 * 7-byte garbage record claiming a 1 GB string is an OutOfMemoryError (a TaskManager crash and a
 * restart loop on the same record), and its skip path follows negative lengths backwards. Here
 * every length is checked against the bytes actually left, so a bad record costs at most its own
 * size and always ends in an {@link IOException} (reported as {@code avro:undecodable}).
 *
 * <p>Rendering: a record is a JSON object of all writer fields in schema order; null, boolean,
 * int, long as JSON; float/double via Jackson's shortest-repr writer (NaN and Infinity as the
 * strings "NaN"/"Infinity"); string and enum symbol as JSON strings (escaped by Jackson; a string
 * that is not valid UTF-8 is an {@link InvalidUtf8Exception}: replacing bytes would alter data); bytes and fixed as Base64 strings; arrays as arrays; maps as objects.
 * Logical types are rendered as their underlying Avro type (a date is its int day number).
 *
 * <p>While rendering, the contract's top-level fields can be captured as {@link Fields}: the kind
 * and literal text that parsing the rendered JSON would give {@link ParseTaxiEvent}, so the
 * contract's rules run without parsing the text back (a quarter of the bronze job's thread at
 * 20k events/s). A record whose text the JSON parser might treat differently (nested values, a
 * string or name beyond Jackson's read limits) is marked incomplete: that one is parsed.
 */
final class AvroJson {

    /**
     * Doubles use Jackson's shortest-repr writer (Schubfach, as Double.toString does only from
     * JDK 19): the text is the same on every JVM, so trip_key (built from that literal text) and
     * trip_id of an Avro record do not depend on the Java version. For the two-decimal amounts
     * the generator writes, it is also the text Python's json.dumps writes for the JSON form.
     */
    private static final JsonFactory JSON =
            JsonFactory.builder().enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();

    /**
     * Array/map items allowed beyond the body length. An item of a type that takes bytes uses at
     * least one, so the body length bounds those anyway; this caps items that take none (null,
     * empty records), which a few bytes of block count could otherwise multiply into gigabytes of
     * JSON.
     */
    private static final int ZERO_WIDTH_ITEM_ALLOWANCE = 1_000;

    private final byte[] buf;
    private final int end;
    private int pos;
    private long itemBudget;
    private final JsonGenerator out;

    /** Where the top-level contract fields go; NULL when not captured. */
    private final Fields fields;

    /** Jackson's read limits: a text beyond them fails the parse, so it is not captured. */
    private static final StreamReadConstraints READ_LIMITS = StreamReadConstraints.defaults();

    /**
     * The contract fields of the top-level record ({@link ParseTaxiEvent#fieldIndex}), as parsing
     * the rendered JSON would give them.
     */
    static final class Fields {
        final byte[] kinds = new byte[ParseTaxiEvent.FIELD_COUNT];
        final String[] texts = new String[ParseTaxiEvent.FIELD_COUNT];
        /** False when the rendered text must be parsed instead (see the class comment). */
        boolean complete = true;
    }

    private AvroJson(byte[] buf, int offset, int length, JsonGenerator out, Fields fields) {
        this.buf = buf;
        this.pos = offset;
        this.end = offset + length;
        this.itemBudget = (long) length + ZERO_WIDTH_ITEM_ALLOWANCE;
        this.out = out;
        this.fields = fields;
    }

    /**
     * The datum in {@code buf[offset, offset + length)} as JSON text.
     *
     * @throws IOException when the bytes are not exactly one datum of {@code writer}: too short,
     *     negative or oversized lengths, union/enum index out of range, bad varint, or bytes left
     *     over after the datum
     */
    static String decode(Schema writer, byte[] buf, int offset, int length) throws IOException {
        return decode(writer, buf, offset, length, null);
    }

    /** As {@link #decode(Schema, byte[], int, int)}, capturing the contract fields in {@code fields}. */
    static String decode(Schema writer, byte[] buf, int offset, int length, Fields fields)
            throws IOException {
        final StringWriter text = new StringWriter(Math.min(64 + 2 * length, 1 << 16));
        try (JsonGenerator g = JSON.createGenerator(text)) {
            final AvroJson d = new AvroJson(buf, offset, length, g, fields);
            if (fields != null && writer.getType() == Schema.Type.RECORD) {
                d.topRecord(writer);
            } else {
                if (fields != null) {
                    fields.complete = false; // not an object: the parser says malformed_json
                }
                d.value(writer);
            }
            if (d.pos != d.end) {
                throw new IOException((d.end - d.pos) + " bytes left over after the datum");
            }
        }
        return text.toString();
    }

    private void value(Schema s) throws IOException {
        switch (s.getType()) {
            case NULL:
                out.writeNull();
                break;
            case BOOLEAN:
                out.writeBoolean(readBoolean());
                break;
            case INT:
                out.writeNumber(readInt());
                break;
            case LONG:
                out.writeNumber(readLong());
                break;
            case FLOAT:
                out.writeNumber(Float.intBitsToFloat((int) readLittleEndian(4)));
                break;
            case DOUBLE:
                out.writeNumber(Double.longBitsToDouble(readLittleEndian(8)));
                break;
            case STRING: {
                final int n = readLength();
                final String str = utf8(buf, pos, n);
                out.writeString(str);
                pos += n;
                limitLength(str.length());
                break;
            }
            case BYTES: {
                final int n = readLength();
                out.writeBinary(buf, pos, n);
                pos += n;
                limitLength(base64Length(n));
                break;
            }
            case FIXED: {
                final int n = s.getFixedSize();
                require(n);
                out.writeBinary(buf, pos, n);
                pos += n;
                limitLength(base64Length(n));
                break;
            }
            case ENUM: {
                final List<String> symbols = s.getEnumSymbols();
                out.writeString(symbols.get(index(symbols.size(), "enum")));
                break;
            }
            case UNION: {
                final List<Schema> branches = s.getTypes();
                value(branches.get(index(branches.size(), "union")));
                break;
            }
            case RECORD:
                nested();
                out.writeStartObject();
                for (Schema.Field f : s.getFields()) {
                    out.writeFieldName(f.name());
                    value(f.schema());
                }
                out.writeEndObject();
                break;
            case ARRAY: {
                nested();
                final Schema items = s.getElementType();
                out.writeStartArray();
                for (long n = blockCount(); n > 0; n = blockCount()) {
                    for (long i = 0; i < n; i++) {
                        value(items);
                    }
                }
                out.writeEndArray();
                break;
            }
            case MAP: {
                nested();
                final Schema values = s.getValueType();
                out.writeStartObject();
                for (long n = blockCount(); n > 0; n = blockCount()) {
                    for (long i = 0; i < n; i++) {
                        final int k = readLength();
                        out.writeFieldName(utf8(buf, pos, k));
                        pos += k;
                        value(values);
                    }
                }
                out.writeEndObject();
                break;
            }
            default:
                throw new IOException("unsupported Avro type " + s.getType());
        }
    }

    /** The top-level record, capturing the contract's fields. */
    private void topRecord(Schema s) throws IOException {
        out.writeStartObject();
        for (Schema.Field f : s.getFields()) {
            final String name = f.name();
            if (name.length() > READ_LIMITS.getMaxNameLength()) {
                fields.complete = false;
            }
            out.writeFieldName(name);
            final int idx = ParseTaxiEvent.fieldIndex(name);
            if (idx < 0) {
                value(f.schema());
            } else {
                field(f.schema(), idx);
            }
        }
        out.writeEndObject();
    }

    /**
     * One contract field: rendered as {@link #value} renders it, its kind and text recorded as
     * the JSON parser would report them (a number's literal token text, a string's value).
     */
    private void field(Schema s, int idx) throws IOException {
        byte kind;
        String text = null;
        switch (s.getType()) {
            case NULL:
                out.writeNull();
                kind = ParseTaxiEvent.NULL;
                break;
            case BOOLEAN: {
                final boolean b = readBoolean();
                out.writeBoolean(b);
                kind = ParseTaxiEvent.BOOLEAN;
                text = Boolean.toString(b);
                break;
            }
            case INT:
                text = Integer.toString(readInt());
                out.writeNumber(text);
                kind = ParseTaxiEvent.INT;
                break;
            case LONG:
                text = Long.toString(readLong());
                out.writeNumber(text);
                kind = ParseTaxiEvent.INT;
                break;
            case FLOAT: {
                final float v = Float.intBitsToFloat((int) readLittleEndian(4));
                if (Float.isFinite(v)) {
                    text = NumberOutput.toString(v, true); // what writeNumber(float) writes
                    out.writeNumber(text);
                    kind = numberKind(text);
                } else {
                    out.writeNumber(v); // a quoted string: "NaN", "Infinity", "-Infinity"
                    text = Float.toString(v);
                    kind = ParseTaxiEvent.STRING;
                }
                break;
            }
            case DOUBLE: {
                final double v = Double.longBitsToDouble(readLittleEndian(8));
                if (Double.isFinite(v)) {
                    text = NumberOutput.toString(v, true); // what writeNumber(double) writes
                    out.writeNumber(text);
                    kind = numberKind(text);
                } else {
                    out.writeNumber(v);
                    text = Double.toString(v);
                    kind = ParseTaxiEvent.STRING;
                }
                break;
            }
            case STRING: {
                final int n = readLength();
                text = utf8(buf, pos, n);
                out.writeString(text);
                pos += n;
                limitLength(text.length());
                kind = ParseTaxiEvent.STRING;
                break;
            }
            case BYTES:
            case FIXED: {
                final int n = s.getType() == Schema.Type.BYTES ? readLength() : s.getFixedSize();
                require(n);
                out.writeBinary(buf, pos, n);
                text = Base64Variants.getDefaultVariant().encode(Arrays.copyOfRange(buf, pos, pos + n));
                pos += n;
                limitLength(text.length());
                kind = ParseTaxiEvent.STRING;
                break;
            }
            case ENUM: {
                final List<String> symbols = s.getEnumSymbols();
                text = symbols.get(index(symbols.size(), "enum"));
                out.writeString(text);
                kind = ParseTaxiEvent.STRING;
                break;
            }
            case UNION: {
                final List<Schema> branches = s.getTypes();
                field(branches.get(index(branches.size(), "union")), idx);
                return;
            }
            default: // record, array, map
                value(s); // marks the fields incomplete
                kind = ParseTaxiEvent.STRUCT;
                break;
        }
        fields.kinds[idx] = kind;
        fields.texts[idx] = text;
    }

    /** A JSON number token's kind: with a fraction or an exponent it is a float. */
    private static byte numberKind(String text) {
        for (int i = 0; i < text.length(); i++) {
            final char c = text.charAt(i);
            if (c == '.' || c == 'e' || c == 'E') {
                return ParseTaxiEvent.FLOAT;
            }
        }
        return ParseTaxiEvent.INT;
    }

    /** Nested values are left to the parser (its nesting limit decides what is malformed). */
    private void nested() {
        if (fields != null) {
            fields.complete = false;
        }
    }

    /** A string longer than the parser reads is left to the parser (malformed_json there). */
    private void limitLength(long chars) {
        if (fields != null && chars > READ_LIMITS.getMaxStringLength()) {
            fields.complete = false;
        }
    }

    /** Characters of n bytes in padded Base64 (how bytes and fixed are rendered). */
    private static long base64Length(long n) {
        return 4 * ((n + 2) / 3);
    }

    /** Items in the next array/map block; 0 ends the value. Charged against the item budget. */
    private long blockCount() throws IOException {
        long n = readLong();
        if (n < 0) {
            // a negative count is followed by the block's size in bytes (for skipping); unused
            n = -n;
            if (n < 0 || readLong() < 0) {
                throw new IOException("invalid block");
            }
        }
        itemBudget -= n;
        if (itemBudget < 0) {
            throw new IOException("more array/map items than the record can hold");
        }
        return n;
    }

    /** A union branch or enum symbol index in [0, size). */
    private int index(int size, String what) throws IOException {
        final int i = readInt();
        if (i < 0 || i >= size) {
            throw new IOException(what + " index " + i + " out of range [0, " + size + ")");
        }
        return i;
    }

    /** A string/bytes length: non-negative and no longer than what is left. */
    private int readLength() throws IOException {
        final long n = readLong();
        if (n < 0) {
            throw new IOException("negative length " + n);
        }
        if (n > end - pos) {
            throw new EOFException("length " + n + " beyond the end of the record");
        }
        return (int) n;
    }

    private void require(int n) throws EOFException {
        if (n > end - pos) {
            throw new EOFException();
        }
    }

    /** One byte, 0 or 1. */
    private boolean readBoolean() throws IOException {
        final int b = readByte();
        if (b > 1) {
            throw new IOException("invalid boolean byte " + b);
        }
        return b == 1;
    }

    private int readByte() throws EOFException {
        require(1);
        return buf[pos++] & 0xff;
    }

    /** Zig-zag varint of at most 5 bytes that fits in 32 bits. */
    private int readInt() throws IOException {
        final long raw = readVarint(5);
        if ((raw >>> 32) != 0) {
            throw new IOException("invalid int encoding");
        }
        final int n = (int) raw;
        return (n >>> 1) ^ -(n & 1);
    }

    /** Zig-zag varint of at most 10 bytes. */
    private long readLong() throws IOException {
        final long n = readVarint(10);
        return (n >>> 1) ^ -(n & 1);
    }

    private long readVarint(int maxBytes) throws IOException {
        long value = 0;
        for (int i = 0; i < maxBytes; i++) {
            final int b = readByte();
            value |= (long) (b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new IOException("varint longer than " + maxBytes + " bytes");
    }

    private long readLittleEndian(int n) throws EOFException {
        require(n);
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (buf[pos + i] & 0xff) << (8 * i);
        }
        pos += n;
        return v;
    }

    /** Strict UTF-8 (the Avro spec's string encoding): malformed bytes are an error. */
    static String utf8(byte[] bytes, int offset, int length) throws InvalidUtf8Exception {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidUtf8Exception();
        }
    }

    /** A string (Avro) or a whole message (JSON) that is not valid UTF-8. */
    static final class InvalidUtf8Exception extends IOException {
        private static final long serialVersionUID = 1L;

        InvalidUtf8Exception() {
            super("not valid UTF-8");
        }
    }
}
