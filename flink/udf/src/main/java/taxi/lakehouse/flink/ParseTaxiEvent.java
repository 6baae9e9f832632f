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
     * The result fields, in order. Also the tail of {@link DecodeTaxiEventTable}'s row, hence a
     * constant of its own (annotations need compile-time constants).
     */
    public static final String RESULT_FIELDS =
            "reason STRING, "
                    + "trip_key STRING, "
                    + "vendor_id INT, "
                    + "pickup_ts TIMESTAMP(3), "
                    + "dropoff_ts TIMESTAMP(3), "
                    + "passenger_count INT, "
                    + "trip_distance DOUBLE, "
                    + "rate_code_id INT, "
                    + "store_and_fwd_flag STRING, "
                    + "pu_location_id INT, "
                    + "do_location_id INT, "
                    + "payment_type INT, "
                    + "fare_amount DECIMAL(10, 2), "
                    + "extra DECIMAL(10, 2), "
                    + "mta_tax DECIMAL(10, 2), "
                    + "tip_amount DECIMAL(10, 2), "
                    + "tolls_amount DECIMAL(10, 2), "
                    + "improvement_surcharge DECIMAL(10, 2), "
                    + "total_amount DECIMAL(10, 2), "
                    + "congestion_surcharge DECIMAL(10, 2), "
                    + "airport_fee DECIMAL(10, 2), "
                    + "cbd_congestion_fee DECIMAL(10, 2)";

    /** The result type, as Flink sees it. */
    public static final String RESULT_TYPE = "ROW<" + RESULT_FIELDS + ">";

    /** Number of fields in {@link #RESULT_TYPE}. */
    public static final int RESULT_ARITY = 22;

    public static final String MALFORMED_JSON = "malformed_json";

    // ---- JSON fields we look at (index = position in FIELD_NAMES) ----
    private static final int VENDOR_ID = 0;
    private static final int PICKUP = 1;
    private static final int DROPOFF = 2;
    private static final int PASSENGER_COUNT = 3;
    private static final int TRIP_DISTANCE = 4;
    private static final int RATECODE_ID = 5;
    private static final int STORE_AND_FWD_FLAG = 6;
    private static final int PU_LOCATION_ID = 7;
    private static final int DO_LOCATION_ID = 8;
    private static final int PAYMENT_TYPE = 9;
    private static final int FARE_AMOUNT = 10;
    private static final int EXTRA = 11;
    private static final int MTA_TAX = 12;
    private static final int TIP_AMOUNT = 13;
    private static final int TOLLS_AMOUNT = 14;
    private static final int IMPROVEMENT_SURCHARGE = 15;
    private static final int TOTAL_AMOUNT = 16;
    private static final int CONGESTION_SURCHARGE = 17;
    private static final int AIRPORT_FEE = 18;
    private static final int CBD_CONGESTION_FEE = 19;
    /** Top-level fields the contract looks at: the length of {@link #validate}'s arrays. */
    static final int FIELD_COUNT = 20;

    private static final String[] FIELD_NAMES = {
        "VendorID",
        "tpep_pickup_datetime",
        "tpep_dropoff_datetime",
        "passenger_count",
        "trip_distance",
        "RatecodeID",
        "store_and_fwd_flag",
        "PULocationID",
        "DOLocationID",
        "payment_type",
        "fare_amount",
        "extra",
        "mta_tax",
        "tip_amount",
        "tolls_amount",
        "improvement_surcharge",
        "total_amount",
        "congestion_surcharge",
        "Airport_fee",
        "cbd_congestion_fee",
    };

    /** Required fields, in the order the bronze SQL checks them for missing_field. */
    private static final int[] REQUIRED = {
        VENDOR_ID, PICKUP, DROPOFF, TRIP_DISTANCE, PU_LOCATION_ID, DO_LOCATION_ID, PAYMENT_TYPE,
        FARE_AMOUNT, TOTAL_AMOUNT,
    };

    private static final String[] MISSING_REASON = new String[FIELD_COUNT];
    private static final String[] WRONG_TYPE_REASON = new String[FIELD_COUNT];
    private static final String[] OUT_OF_RANGE_REASON = new String[FIELD_COUNT];

    static {
        for (int i = 0; i < FIELD_COUNT; i++) {
            MISSING_REASON[i] = "missing_field:" + FIELD_NAMES[i];
            WRONG_TYPE_REASON[i] = "wrong_type:" + FIELD_NAMES[i];
            OUT_OF_RANGE_REASON[i] = "out_of_range:" + FIELD_NAMES[i];
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

        // ---- missing_field ----
        for (int idx : REQUIRED) {
            if (kinds[idx] == ABSENT || kinds[idx] == NULL) {
                return invalid(MISSING_REASON[idx]);
            }
        }

        // ---- wrong_type / out_of_range (bronze SQL order) + typed values ----
        final Integer[] ints = new Integer[FIELD_COUNT];
        for (int idx : INT_FIELDS_BEFORE_DISTANCE) {
            final String reason = intField(idx, kinds, texts, ints);
            if (reason != null) {
                return invalid(reason);
            }
        }
        // timestamps sit between VendorID and passenger_count in SQL order
        final LocalDateTime pickup = toTimestamp(kinds[PICKUP], texts[PICKUP]);
        if (pickup == null) {
            return invalid(WRONG_TYPE_REASON[PICKUP]);
        }
        final LocalDateTime dropoff = toTimestamp(kinds[DROPOFF], texts[DROPOFF]);
        if (dropoff == null) {
            return invalid(WRONG_TYPE_REASON[DROPOFF]);
        }
        final String ppl = intField(PASSENGER_COUNT, kinds, texts, ints);
        if (ppl != null) {
            return invalid(ppl);
        }
        if (!isNumber(kinds[TRIP_DISTANCE], texts[TRIP_DISTANCE])) {
            return invalid(WRONG_TYPE_REASON[TRIP_DISTANCE]);
        }
        final double distance = toDouble(texts[TRIP_DISTANCE]);
        if (Double.isNaN(distance) || Double.isInfinite(distance)) {
            return invalid(OUT_OF_RANGE_REASON[TRIP_DISTANCE]);
        }
        final Double tripDistance = Double.valueOf(distance);
        for (int idx : INT_FIELDS_AFTER_DISTANCE) {
            final String reason = intField(idx, kinds, texts, ints);
            if (reason != null) {
                return invalid(reason);
            }
        }
        // fare_amount .. cbd_congestion_fee are consecutive indexes, checked in SQL order
        // (cbd_congestion_fee, the newest field, last).
        final BigDecimal[] amounts = new BigDecimal[CBD_CONGESTION_FEE - FARE_AMOUNT + 1];
        for (int idx = FARE_AMOUNT; idx <= CBD_CONGESTION_FEE; idx++) {
            if (isPresent(kinds[idx])) {
                if (!isNumber(kinds[idx], texts[idx])) {
                    return invalid(WRONG_TYPE_REASON[idx]);
                }
                final BigDecimal amount = toDecimal10_2(texts[idx]);
                if (amount == null) {
                    return invalid(OUT_OF_RANGE_REASON[idx]);
                }
                amounts[idx - FARE_AMOUNT] = amount;
            }
        }
        final Integer vendorId = ints[VENDOR_ID];
        final Integer passengerCount = ints[PASSENGER_COUNT];
        final Integer rateCodeId = ints[RATECODE_ID];
        final Integer puLocationId = ints[PU_LOCATION_ID];
        final Integer doLocationId = ints[DO_LOCATION_ID];
        final Integer paymentType = ints[PAYMENT_TYPE];

        final String tripKey =
                texts[VENDOR_ID]
                        + '|'
                        + texts[PICKUP]
                        + '|'
                        + texts[DROPOFF]
                        + '|'
                        + texts[PU_LOCATION_ID]
                        + '|'
                        + texts[DO_LOCATION_ID]
                        + '|'
                        + texts[TRIP_DISTANCE]
                        + '|'
                        + texts[TOTAL_AMOUNT];

        // store_and_fwd_flag is not validated; like JSON_VALUE: scalar text, else NULL.
        final byte flagKind = kinds[STORE_AND_FWD_FLAG];
        final String flag =
                flagKind == STRING || flagKind == INT || flagKind == FLOAT || flagKind == BOOLEAN
                        ? texts[STORE_AND_FWD_FLAG]
                        : null;

        final Row row = new Row(RESULT_ARITY);
        row.setField(0, null);
        row.setField(1, tripKey);
        row.setField(2, vendorId);
        row.setField(3, pickup);
        row.setField(4, dropoff);
        row.setField(5, passengerCount);
        row.setField(6, tripDistance);
        row.setField(7, rateCodeId);
        row.setField(8, flag);
        row.setField(9, puLocationId);
        row.setField(10, doLocationId);
        row.setField(11, paymentType);
        for (int i = 0; i < amounts.length; i++) {
            row.setField(12 + i, amounts[i]);
        }
        return row;
    }

    /** Int fields in SQL order: the one before the timestamps, then those after trip_distance. */
    private static final int[] INT_FIELDS_BEFORE_DISTANCE = {VENDOR_ID};

    private static final int[] INT_FIELDS_AFTER_DISTANCE = {
        RATECODE_ID, PU_LOCATION_ID, DO_LOCATION_ID, PAYMENT_TYPE,
    };

    /**
     * Types the int field {@code idx} into {@code out[idx]} (optional fields that are absent stay
     * NULL); returns the dead-letter reason, or NULL when the value is fine.
     */
    private static String intField(int idx, byte[] kinds, String[] texts, Integer[] out) {
        if (!isPresent(kinds[idx])) {
            return null; // required ones were checked for missing_field before
        }
        final long value = toInt(kinds[idx], texts[idx]);
        if (value == OUT_OF_INT_RANGE) {
            return OUT_OF_RANGE_REASON[idx];
        }
        if (value > Integer.MAX_VALUE) {
            return WRONG_TYPE_REASON[idx];
        }
        out[idx] = Integer.valueOf((int) value);
        return null;
    }

    /** The index of a contract field, -1 for a field the contract does not look at. */
    static int fieldIndex(String name) {
        switch (name) {
            case "VendorID":
                return VENDOR_ID;
            case "tpep_pickup_datetime":
                return PICKUP;
            case "tpep_dropoff_datetime":
                return DROPOFF;
            case "passenger_count":
                return PASSENGER_COUNT;
            case "trip_distance":
                return TRIP_DISTANCE;
            case "RatecodeID":
                return RATECODE_ID;
            case "store_and_fwd_flag":
                return STORE_AND_FWD_FLAG;
            case "PULocationID":
                return PU_LOCATION_ID;
            case "DOLocationID":
                return DO_LOCATION_ID;
            case "payment_type":
                return PAYMENT_TYPE;
            case "fare_amount":
                return FARE_AMOUNT;
            case "extra":
                return EXTRA;
            case "mta_tax":
                return MTA_TAX;
            case "tip_amount":
                return TIP_AMOUNT;
            case "tolls_amount":
                return TOLLS_AMOUNT;
            case "improvement_surcharge":
                return IMPROVEMENT_SURCHARGE;
            case "total_amount":
                return TOTAL_AMOUNT;
            case "congestion_surcharge":
                return CONGESTION_SURCHARGE;
            case "Airport_fee":
                return AIRPORT_FEE;
            case "cbd_congestion_fee":
                return CBD_CONGESTION_FEE;
            default:
                return -1;
        }
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
