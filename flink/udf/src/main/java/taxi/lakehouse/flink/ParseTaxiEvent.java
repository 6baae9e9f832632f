package taxi.lakehouse.flink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.types.Row;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.DateTimeException;
import java.time.LocalDateTime;

/**
 * Parses one taxi-trip event (docs/contracts.md section 1) with a single streaming JSON pass and
 * returns its structural validation result plus the typed values.
 *
 * <p>{@code reason} is NULL for a structurally valid record, otherwise the first failing rule of
 * the bronze SQL: {@code malformed_json}, then {@code missing_field:<name>}, then per field (same
 * field order as flink/sql/10_bronze.sql) {@code wrong_type:<name>} (not of the field's type) or
 * {@code out_of_range:<name>} (of the right type, but the bronze column cannot hold it exactly:
 * an integer beyond INT, an amount beyond DECIMAL(10, 2) or with sub-cent digits, a number that
 * is not finite). A value is never turned into NULL or rounded silently. {@code trip_key} is the
 * natural key {@code VendorID|pickup|dropoff|PULocationID|DOLocationID|trip_distance|total_amount}
 * built from the literal JSON token text (SQL: {@code trip_id = LOWER(MD5(trip_key))}).
 *
 * <p>{@code cbd_congestion_fee} (TLC's 2025 Manhattan CBD congestion fee) is optional and typed
 * like {@code Airport_fee}; it is checked last and is not part of {@code trip_key}, so adding it
 * to a producer changes neither the trip id nor the outcome of any older rule.
 *
 * <p>Never throws: any unexpected failure is reported as {@code malformed_json}.
 */
public class ParseTaxiEvent extends ScalarFunction {

    private static final long serialVersionUID = 1L;

    /**
     * The result fields, in order: reason, trip_key, then the event's fields in schema order
     * ({@link TripContract}, rendered from contracts/raw_trip.avsc). Also the tail of
     * {@link DecodeTaxiEventTable}'s row (annotations need compile-time constants).
     */
    public static final String RESULT_FIELDS = TripContract.RESULT_FIELDS;

    /** The result type, as Flink sees it. */
    public static final String RESULT_TYPE = "ROW<" + RESULT_FIELDS + ">";

    /** Top-level fields the contract looks at: the length of {@link #validate}'s arrays. */
    static final int FIELD_COUNT = TripContract.FIELD_COUNT;

    /** Number of fields in {@link #RESULT_TYPE}. */
    public static final int RESULT_ARITY = 2 + FIELD_COUNT;

    public static final String MALFORMED_JSON = "malformed_json";

    private static final String[] MISSING_REASON = new String[FIELD_COUNT];
    private static final String[] WRONG_TYPE_REASON = new String[FIELD_COUNT];
    private static final String[] OUT_OF_RANGE_REASON = new String[FIELD_COUNT];
    private static final java.util.Map<String, Integer> FIELD_INDEX = new java.util.HashMap<>();

    static {
        for (int i = 0; i < FIELD_COUNT; i++) {
            final String name = TripContract.NAMES[i];
            MISSING_REASON[i] = "missing_field:" + name;
            WRONG_TYPE_REASON[i] = "wrong_type:" + name;
            OUT_OF_RANGE_REASON[i] = "out_of_range:" + name;
            FIELD_INDEX.put(name, i);
        }
    }

    /** {@link #toInt}'s answer for an integer that does not fit an INT. */
    private static final long OUT_OF_INT_RANGE = Long.MIN_VALUE;

    /**
     * An amount within this distance of a whole cent is that cent (binary floating point noise of
     * a two-decimal value, e.g. 20.349999999999998); anything further has sub-cent digits that
     * DECIMAL(10, 2) would round away.
     */
    private static final BigDecimal CENT_NOISE = new BigDecimal("0.000001");

    // ---- kinds of JSON value seen for a field (also filled by AvroJson, which skips the text) ----
    static final byte ABSENT = 0;
    static final byte NULL = 1;
    static final byte STRING = 2;
    static final byte INT = 3; // JSON integer token
    static final byte FLOAT = 4; // JSON number token with fraction and/or exponent
    static final byte BOOLEAN = 5;
    static final byte STRUCT = 6; // object or array

    /** Longest numeric text we convert (Jackson's own default limit for number tokens). */
    private static final int MAX_NUMBER_LENGTH = 1000;

    private static final BigDecimal ZERO_2 = BigDecimal.ZERO.setScale(2);

    /** Thread-safe once configured; Jackson defaults = strict RFC 8259 (no comments, NaN, ...). */
    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public boolean isDeterministic() {
        return true;
    }

    public @DataTypeHint(RESULT_TYPE) Row eval(String payload) {
        try {
            return parse(payload);
        } catch (Exception | StackOverflowError e) {
            return invalid(MALFORMED_JSON);
        }
    }

    /**
     * The contract's rules on a record already split into its top-level fields: for each field of
     * {@link #fieldIndex}, the kind of JSON value and its literal text (NULL for null, object,
     * array). {@link AvroJson} fills them while decoding an Avro record, so its JSON text is not
     * parsed back; {@link #eval} fills them from the JSON tokens.
     * Never throws, like {@link #eval}.
     */
    static Row validateFields(byte[] kinds, String[] texts) {
        try {
            return validate(kinds, texts);
        } catch (Exception e) {
            return invalid(MALFORMED_JSON);
        }
    }

    private static Row invalid(String reason) {
        Row row = new Row(RESULT_ARITY);
        row.setField(0, reason);
        return row;
    }

    private static Row parse(String payload) throws Exception {
        if (payload == null) {
            return invalid(MALFORMED_JSON);
        }
        final byte[] kinds = new byte[FIELD_COUNT];
        final String[] texts = new String[FIELD_COUNT];

        try (JsonParser p = JSON.createParser(payload)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return invalid(MALFORMED_JSON);
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                final int idx = fieldIndex(p.currentName());
                final JsonToken v = p.nextToken();
                if (idx < 0) {
                    if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
                        p.skipChildren();
                    }
                    continue;
                }
                // Duplicate keys: the last one wins (as a Jackson Map/tree read does).
                switch (v) {
                    case VALUE_STRING:
                        kinds[idx] = STRING;
                        texts[idx] = p.getText();
                        break;
                    case VALUE_NUMBER_INT:
                        kinds[idx] = INT;
                        texts[idx] = p.getText(); // literal token text, e.g. "2" or "-0"
                        break;
                    case VALUE_NUMBER_FLOAT:
                        kinds[idx] = FLOAT;
                        texts[idx] = p.getText(); // literal token text, e.g. "2.50"
                        break;
                    case VALUE_TRUE:
                    case VALUE_FALSE:
                        kinds[idx] = BOOLEAN;
                        texts[idx] = p.getText();
                        break;
                    case VALUE_NULL:
                        kinds[idx] = NULL;
                        texts[idx] = null;
                        break;
                    case START_OBJECT:
                    case START_ARRAY:
                        kinds[idx] = STRUCT;
                        texts[idx] = null;
                        p.skipChildren();
                        break;
                    default:
                        return invalid(MALFORMED_JSON);
                }
            }
            if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
                // not a single complete JSON object (e.g. trailing content after it)
                return invalid(MALFORMED_JSON);
            }
        }
        return validate(kinds, texts);
    }

    private static Row validate(byte[] kinds, String[] texts) {

        // ---- missing_field (required fields in schema order) ----
        for (int idx : TripContract.REQUIRED) {
            if (kinds[idx] == ABSENT || kinds[idx] == NULL) {
                return invalid(MISSING_REASON[idx]);
            }
        }

        // ---- wrong_type / out_of_range, per field in schema order (= bronze SQL order) ----
        // An optional field that is absent or null stays NULL.
        final Row row = new Row(RESULT_ARITY);
        for (int idx = 0; idx < FIELD_COUNT; idx++) {
            final byte kind = kinds[idx];
            final String text = texts[idx];
            final Object value;
            switch (TripContract.KINDS[idx]) {
                case TripContract.INT:
                    if (!isPresent(kind)) {
                        value = null;
                        break;
                    }
                    final long number = toInt(kind, text);
                    if (number == OUT_OF_INT_RANGE) {
                        return invalid(OUT_OF_RANGE_REASON[idx]);
                    }
                    if (number > Integer.MAX_VALUE) {
                        return invalid(WRONG_TYPE_REASON[idx]);
                    }
                    value = Integer.valueOf((int) number);
                    break;
                case TripContract.TIMESTAMP:
                    if (!isPresent(kind)) {
                        value = null;
                        break;
                    }
                    final LocalDateTime ts = toTimestamp(kind, text);
                    if (ts == null) {
                        return invalid(WRONG_TYPE_REASON[idx]);
                    }
                    value = ts;
                    break;
                case TripContract.DOUBLE:
                    if (!isPresent(kind)) {
                        value = null;
                        break;
                    }
                    if (!isNumber(kind, text)) {
                        return invalid(WRONG_TYPE_REASON[idx]);
                    }
                    final double d = toDouble(text);
                    if (Double.isNaN(d) || Double.isInfinite(d)) {
                        return invalid(OUT_OF_RANGE_REASON[idx]);
                    }
                    value = Double.valueOf(d);
                    break;
                case TripContract.AMOUNT:
                    if (!isPresent(kind)) {
                        value = null;
                        break;
                    }
                    if (!isNumber(kind, text)) {
                        return invalid(WRONG_TYPE_REASON[idx]);
                    }
                    final BigDecimal amount = toDecimal10_2(text);
                    if (amount == null) {
                        return invalid(OUT_OF_RANGE_REASON[idx]);
                    }
                    value = amount;
                    break;
                default:
                    // TEXT is not validated; like JSON_VALUE: scalar text, else NULL.
                    value =
                            kind == STRING || kind == INT || kind == FLOAT || kind == BOOLEAN
                                    ? text
                                    : null;
            }
            row.setField(2 + idx, value);
        }

        // the natural key from the literal token texts (SQL: trip_id = LOWER(MD5(trip_key)))
        final StringBuilder key = new StringBuilder(96);
        for (int i = 0; i < TripContract.TRIP_KEY.length; i++) {
            if (i > 0) {
                key.append('|');
            }
            key.append(texts[TripContract.TRIP_KEY[i]]);
        }
        row.setField(0, null);
        row.setField(1, key.toString());
        return row;
    }

    /** The index of a contract field, -1 for a field the contract does not look at. */
    static int fieldIndex(String name) {
        final Integer idx = FIELD_INDEX.get(name);
        return idx == null ? -1 : idx.intValue();
    }

    /** Optional fields: absent or JSON null means "not given" (no type check). */
    private static boolean isPresent(byte kind) {
        return kind != ABSENT && kind != NULL;
    }

    /**
     * An int field: a JSON integer token, or a string matching {@code ^-?[0-9]+$}. Returns the
     * value; {@link #OUT_OF_INT_RANGE} for an integer that does not fit an INT; a value above
     * Integer.MAX_VALUE (never an INT) when it is not of that shape.
     */
    private static long toInt(byte kind, String text) {
        final long notAnInt = Long.MAX_VALUE;
        if (kind != INT && kind != STRING) {
            return notAnInt;
        }
        final int len = text.length();
        int i = 0;
        boolean negative = false;
        if (len > 0 && text.charAt(0) == '-') {
            negative = true;
            i = 1;
        }
        if (i == len) {
            return notAnInt;
        }
        long value = 0;
        boolean overflow = false;
        for (; i < len; i++) {
            final char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return notAnInt;
            }
            if (!overflow) {
                value = value * 10 + (c - '0');
                overflow = value > 2147483648L;
            }
        }
        if (negative) {
            value = -value;
        }
        if (overflow || value > Integer.MAX_VALUE || value < Integer.MIN_VALUE) {
            return OUT_OF_INT_RANGE;
        }
        return value;
    }

    /**
     * A number field: a JSON number token, or a string matching
     * {@code ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$}.
     */
    private static boolean isNumber(byte kind, String text) {
        if (kind == INT || kind == FLOAT) {
            return text.length() <= MAX_NUMBER_LENGTH;
        }
        if (kind != STRING) {
            return false;
        }
        if (isNonFiniteText(text)) {
            return true; // a number, but none a bronze column can hold: out_of_range
        }
        final int len = text.length();
        if (len > MAX_NUMBER_LENGTH) {
            return false;
        }
        int i = 0;
        if (i < len && text.charAt(i) == '-') {
            i++;
        }
        int start = i;
        while (i < len && isDigit(text.charAt(i))) {
            i++;
        }
        if (i == start) {
            return false;
        }
        if (i < len && text.charAt(i) == '.') {
            i++;
            start = i;
            while (i < len && isDigit(text.charAt(i))) {
                i++;
            }
            if (i == start) {
                return false;
            }
        }
        if (i < len && (text.charAt(i) == 'e' || text.charAt(i) == 'E')) {
            i++;
            if (i < len && (text.charAt(i) == '-' || text.charAt(i) == '+')) {
                i++;
            }
            start = i;
            while (i < len && isDigit(text.charAt(i))) {
                i++;
            }
            if (i == start) {
                return false;
            }
        }
        return i == len;
    }

    /** How Avro doubles that are not finite are rendered (AvroJson), and JavaScript's names. */
    private static boolean isNonFiniteText(String text) {
        switch (text) {
            case "NaN":
            case "Infinity":
            case "-Infinity":
            case "+Infinity":
                return true;
            default:
                return false;
        }
    }

    /** The double of a text {@link #isNumber} accepted (NaN / infinities included). */
    private static double toDouble(String text) {
        return isNonFiniteText(text) ? Double.NaN : Double.parseDouble(text);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /**
     * DECIMAL(10, 2) holding exactly the value; NULL when it cannot (more than 8 integer digits,
     * sub-cent digits beyond floating point noise, not finite). Guards against huge exponents so
     * that the arithmetic can never get expensive.
     */
    private static BigDecimal toDecimal10_2(String text) {
        if (isNonFiniteText(text)) {
            return null;
        }
        final BigDecimal d = new BigDecimal(text);
        if (d.signum() == 0) {
            return ZERO_2;
        }
        // adjusted exponent: |d| is in [10^adj, 10^(adj+1))
        final long adjusted = (long) d.precision() - d.scale() - 1;
        if (adjusted >= 8) {
            return null; // >= 10^8: more than 8 integer digits
        }
        if (adjusted < -7) {
            return ZERO_2; // |d| < 1e-7: floating point noise around zero
        }
        final BigDecimal r = d.setScale(2, RoundingMode.HALF_UP);
        if (r.precision() > 10) {
            return null; // e.g. 99999999.995 -> 100000000.00
        }
        if (d.subtract(r).abs().compareTo(CENT_NOISE) > 0) {
            return null; // 12.345: rounding would change the amount
        }
        return r;
    }

    /** 'yyyy-MM-dd HH:mm:ss' that is a real date-time (2026-02-30 is not); else NULL. */
    private static LocalDateTime toTimestamp(byte kind, String s) {
        if (kind != STRING || s.length() != 19) {
            return null;
        }
        if (s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != ' '
                || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return null;
        }
        final int year = digits(s, 0, 4);
        final int month = digits(s, 5, 2);
        final int day = digits(s, 8, 2);
        final int hour = digits(s, 11, 2);
        final int minute = digits(s, 14, 2);
        final int second = digits(s, 17, 2);
        if ((year | month | day | hour | minute | second) < 0) {
            return null;
        }
        try {
            return LocalDateTime.of(year, month, day, hour, minute, second);
        } catch (DateTimeException e) {
            return null;
        }
    }

    /** The non-negative value of n ASCII digits at offset, or -1. */
    private static int digits(String s, int offset, int n) {
        int v = 0;
        for (int i = offset; i < offset + n; i++) {
            final char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
