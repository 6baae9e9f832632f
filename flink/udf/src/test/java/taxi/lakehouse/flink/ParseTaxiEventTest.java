package taxi.lakehouse.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

class ParseTaxiEventTest {

    /** Field positions in the result row. */
    static final int REASON = 0, TRIP_KEY = 1, VENDOR_ID = 2, PICKUP_TS = 3, DROPOFF_TS = 4,
            PASSENGER_COUNT = 5, TRIP_DISTANCE = 6, RATE_CODE_ID = 7, STORE_AND_FWD_FLAG = 8,
            PU_LOCATION_ID = 9, DO_LOCATION_ID = 10, PAYMENT_TYPE = 11, FARE_AMOUNT = 12,
            EXTRA = 13, MTA_TAX = 14, TIP_AMOUNT = 15, TOLLS_AMOUNT = 16,
            IMPROVEMENT_SURCHARGE = 17, TOTAL_AMOUNT = 18, CONGESTION_SURCHARGE = 19,
            AIRPORT_FEE = 20, CBD_CONGESTION_FEE = 21;

    static final String[] REQUIRED = {
        "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "trip_distance",
        "PULocationID", "DOLocationID", "payment_type", "fare_amount", "total_amount",
    };
    static final String[] INT_FIELDS = {
        "VendorID", "passenger_count", "RatecodeID", "PULocationID", "DOLocationID", "payment_type",
    };
    static final String[] NUMBER_FIELDS = {
        "trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
        "improvement_surcharge", "total_amount", "congestion_surcharge", "Airport_fee",
        "cbd_congestion_fee",
    };
    /** The bronze SQL's wrong_type order. */
    static final String[] WRONG_TYPE_ORDER = {
        "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count",
        "trip_distance", "RatecodeID", "PULocationID", "DOLocationID", "payment_type",
        "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge",
        "total_amount", "congestion_surcharge", "Airport_fee", "cbd_congestion_fee",
    };

    final ParseTaxiEvent udf = new ParseTaxiEvent();

    /**
     * A valid event; values are raw JSON token text, so tests can put any token in. It has no
     * cbd_congestion_fee (optional, newer than the contract's producers).
     */
    static Map<String, String> valid() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("VendorID", "2");
        m.put("tpep_pickup_datetime", "\"2026-01-05 08:15:00\"");
        m.put("tpep_dropoff_datetime", "\"2026-01-05 08:32:10\"");
        m.put("passenger_count", "1");
        m.put("trip_distance", "3.20");
        m.put("RatecodeID", "1");
        m.put("store_and_fwd_flag", "\"N\"");
        m.put("PULocationID", "161");
        m.put("DOLocationID", "236");
        m.put("payment_type", "1");
        m.put("fare_amount", "17.7");
        m.put("extra", "2.5");
        m.put("mta_tax", "0.5");
        m.put("tip_amount", "4.44");
        m.put("tolls_amount", "0.0");
        m.put("improvement_surcharge", "1.0");
        m.put("total_amount", "28.64");
        m.put("congestion_surcharge", "2.5");
        m.put("Airport_fee", "0");
        return m;
    }

    static String json(Map<String, String> m) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, String> e : m.entrySet()) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append('"').append(e.getKey()).append("\":").append(e.getValue());
        }
        return sb.append('}').toString();
    }

    static Map<String, String> with(String field, String token) {
        Map<String, String> m = valid();
        m.put(field, token);
        return m;
    }

    static Map<String, String> without(String field) {
        Map<String, String> m = valid();
        m.remove(field);
        return m;
    }

    Row eval(String payload) {
        Row row = udf.eval(payload);
        assertNotNull(row);
        assertEquals(22, row.getArity());
        return row;
    }

    String reason(Map<String, String> m) {
        return (String) eval(json(m)).getField(REASON);
    }

    static void assertOnlyReason(Row row, String reason) {
        assertEquals(reason, row.getField(REASON));
        for (int i = 1; i < row.getArity(); i++) {
            assertNull(row.getField(i), "field " + i + " must be NULL for an invalid record");
        }
    }

    // ---------------------------------------------------------------- valid record, typed values

    @Test
    void validRecordIsTyped() {
        Row r = eval(json(valid()));
        assertNull(r.getField(REASON));
        assertEquals("2|2026-01-05 08:15:00|2026-01-05 08:32:10|161|236|3.20|28.64", r.getField(TRIP_KEY));
        assertEquals(2, r.getField(VENDOR_ID));
        assertEquals(LocalDateTime.of(2026, 1, 5, 8, 15, 0), r.getField(PICKUP_TS));
        assertEquals(LocalDateTime.of(2026, 1, 5, 8, 32, 10), r.getField(DROPOFF_TS));
        assertEquals(1, r.getField(PASSENGER_COUNT));
        assertEquals(3.2d, r.getField(TRIP_DISTANCE));
        assertEquals(1, r.getField(RATE_CODE_ID));
        assertEquals("N", r.getField(STORE_AND_FWD_FLAG));
        assertEquals(161, r.getField(PU_LOCATION_ID));
        assertEquals(236, r.getField(DO_LOCATION_ID));
        assertEquals(1, r.getField(PAYMENT_TYPE));
        assertEquals(new BigDecimal("17.70"), r.getField(FARE_AMOUNT));
        assertEquals(new BigDecimal("2.50"), r.getField(EXTRA));
        assertEquals(new BigDecimal("0.50"), r.getField(MTA_TAX));
        assertEquals(new BigDecimal("4.44"), r.getField(TIP_AMOUNT));
        assertEquals(new BigDecimal("0.00"), r.getField(TOLLS_AMOUNT));
        assertEquals(new BigDecimal("1.00"), r.getField(IMPROVEMENT_SURCHARGE));
        assertEquals(new BigDecimal("28.64"), r.getField(TOTAL_AMOUNT));
        assertEquals(new BigDecimal("2.50"), r.getField(CONGESTION_SURCHARGE));
        assertEquals(new BigDecimal("0.00"), r.getField(AIRPORT_FEE));
        assertNull(r.getField(CBD_CONGESTION_FEE));
    }

    @Test
    void decimalsHaveScaleTwoEvenWhenEqual() {
        Row r = eval(json(valid()));
        for (int i = FARE_AMOUNT; i <= AIRPORT_FEE; i++) {
            assertEquals(2, ((BigDecimal) r.getField(i)).scale(), "field " + i);
        }
    }

    @Test
    void optionalFieldsMayBeAbsentOrNull() {
        String[] optional = {
            "passenger_count", "RatecodeID", "store_and_fwd_flag", "extra", "mta_tax", "tip_amount",
            "tolls_amount", "improvement_surcharge", "congestion_surcharge", "Airport_fee",
            "cbd_congestion_fee",
        };
        Map<String, String> absent = valid();
        Map<String, String> nulls = valid();
        for (String f : optional) {
            absent.remove(f);
            nulls.put(f, "null");
        }
        for (Map<String, String> m : java.util.List.of(absent, nulls)) {
            Row r = eval(json(m));
            assertNull(r.getField(REASON));
            assertNotNull(r.getField(TRIP_KEY));
            for (int i : new int[] {PASSENGER_COUNT, RATE_CODE_ID, STORE_AND_FWD_FLAG, EXTRA, MTA_TAX,
                    TIP_AMOUNT, TOLLS_AMOUNT, IMPROVEMENT_SURCHARGE, CONGESTION_SURCHARGE, AIRPORT_FEE,
                    CBD_CONGESTION_FEE}) {
                assertNull(r.getField(i), "field " + i);
            }
            assertEquals(new BigDecimal("17.70"), r.getField(FARE_AMOUNT));
        }
    }

    @Test
    void unknownFieldsAndNestedValuesElsewhereAreIgnored() {
        Map<String, String> m = valid();
        m.put("cbd_congestion_fee_v9", "\"not a number\"");
        m.put("meta", "{\"a\":[1,2,{\"b\":null}],\"VendorID\":\"x\"}");
        m.put("list", "[[],[{}],\"s\",true]");
        Row r = eval(json(m));
        assertNull(r.getField(REASON));
        assertEquals(2, r.getField(VENDOR_ID));
    }

    @Test
    void whitespaceAndKeyOrderDoNotMatter() {
        String payload = "  {\n \"total_amount\" : 28.64 ,\"fare_amount\":17.7, \"payment_type\":1,"
                + "\t\"DOLocationID\":236,\"PULocationID\":161,\"trip_distance\":3.20,"
                + "\"tpep_dropoff_datetime\":\"2026-01-05 08:32:10\","
                + "\"tpep_pickup_datetime\":\"2026-01-05 08:15:00\",\"VendorID\":2 }\r\n";
        Row r = eval(payload);
        assertNull(r.getField(REASON));
        assertEquals("2|2026-01-05 08:15:00|2026-01-05 08:32:10|161|236|3.20|28.64", r.getField(TRIP_KEY));
    }

    @Test
    void duplicateKeyLastOneWins() {
        String payload = json(valid()).replace("{\"VendorID\":2,", "{\"VendorID\":\"x\",\"VendorID\":7,");
        Row r = eval(payload);
        assertNull(r.getField(REASON));
        assertEquals(7, r.getField(VENDOR_ID));
    }

    // ---------------------------------------------------------------- trip_key: literal token text

    @Test
    void tripKeyUsesLiteralTokenText() {
        Map<String, String> m = valid();
        m.put("trip_distance", "2.50");
        m.put("total_amount", "10.0");
        m.put("VendorID", "\"007\"");
        m.put("PULocationID", "-0");
        m.put("DOLocationID", "\"236\"");
        Row r = eval(json(m));
        assertNull(r.getField(REASON));
        assertEquals("007|2026-01-05 08:15:00|2026-01-05 08:32:10|-0|236|2.50|10.0", r.getField(TRIP_KEY));
        assertEquals(7, r.getField(VENDOR_ID));
        assertEquals(0, r.getField(PU_LOCATION_ID));
        assertEquals(236, r.getField(DO_LOCATION_ID));
        assertEquals(2.5d, r.getField(TRIP_DISTANCE));
        assertEquals(new BigDecimal("10.00"), r.getField(TOTAL_AMOUNT));
    }

    @Test
    void tripKeyKeepsExponentAndStringNumbersAsWritten() {
        Map<String, String> m = valid();
        m.put("trip_distance", "1.5E1");
        m.put("total_amount", "\"2.845e1\"");
        Row r = eval(json(m));
        assertNull(r.getField(REASON));
        assertTrue(((String) r.getField(TRIP_KEY)).endsWith("|1.5E1|2.845e1"));
        assertEquals(15.0d, r.getField(TRIP_DISTANCE));
        assertEquals(new BigDecimal("28.45"), r.getField(TOTAL_AMOUNT));
    }

    @Test
    void tripKeyUsesDecodedStringValue() {
        // a JSON escape in a string is decoded (as JSON_VALUE does); the value stays valid
        Map<String, String> m = with("tpep_pickup_datetime", "\"2026-01-05\\u002008:15:00\"");
        Row r = eval(json(m));
        assertNull(r.getField(REASON));
        assertTrue(((String) r.getField(TRIP_KEY)).startsWith("2|2026-01-05 08:15:00|"));
    }

    // ---------------------------------------------------------------- decimals

    @Test
    void decimalsAreExactToTheCent() {
        assertEquals(new BigDecimal("1.00"), amount("1"));
        assertEquals(new BigDecimal("-1.01"), amount("-1.01"));
        assertEquals(new BigDecimal("0.00"), amount("1e-9")); // noise around zero
        assertEquals(new BigDecimal("0.00"), amount("-0.0"));
        assertEquals(new BigDecimal("1234.50"), amount("1.2345e3"));
        assertEquals(new BigDecimal("12.00"), amount("12"));
        assertEquals(new BigDecimal("-3.00"), amount("\"-3\""));
        assertEquals(new BigDecimal("99999999.99"), amount("99999999.99"));
        // binary floating point noise of a two-decimal value is that value
        assertEquals(new BigDecimal("20.35"), amount("20.349999999999998"));
        assertEquals(new BigDecimal("0.30"), amount("0.30000000000000004"));
    }

    @Test
    void subCentDigitsAreOutOfRangeNotRounded() {
        for (String tok : new String[] {"1.005", "2.345", "\"12.345\"", "0.0049", "1.0049"}) {
            assertOnlyReason(eval(json(with("fare_amount", tok))), "out_of_range:fare_amount");
        }
    }

    @Test
    void decimalOverflowIsOutOfRangeNotNull() {
        // a value the DECIMAL(10, 2) column cannot hold is a dead-letter reason, never a NULL
        for (String tok : new String[] {"100000000", "99999999.995", "1e8", "1E999999", "1e15",
                "\"-123456789.1\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\""}) {
            assertOnlyReason(eval(json(with("tip_amount", tok))), "out_of_range:tip_amount");
        }
    }

    @Test
    void nonFiniteDistanceIsOutOfRange() {
        for (String tok : new String[] {"1e999", "-1e999", "\"NaN\"", "\"Infinity\""}) {
            assertOnlyReason(eval(json(with("trip_distance", tok))), "out_of_range:trip_distance");
        }
    }

    private BigDecimal amount(String token) {
        Row r = eval(json(with("fare_amount", token)));
        assertNull(r.getField(REASON), token);
        return (BigDecimal) r.getField(FARE_AMOUNT);
    }

    // ---------------------------------------------------------------- timestamps

    @Test
    void timestampsParse() {
        Row r = eval(json(with("tpep_pickup_datetime", "\"2024-02-29 23:59:59\"")));
        assertNull(r.getField(REASON));
        assertEquals(LocalDateTime.of(2024, 2, 29, 23, 59, 59), r.getField(PICKUP_TS));
        r = eval(json(with("tpep_dropoff_datetime", "\"2026-12-31 00:00:00\"")));
        assertEquals(LocalDateTime.of(2026, 12, 31, 0, 0, 0), r.getField(DROPOFF_TS));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "\"2026-02-30 12:00:00\"", // no such day
        "\"2025-02-29 12:00:00\"", // not a leap year
        "\"2026-13-01 12:00:00\"",
        "\"2026-00-10 12:00:00\"",
        "\"2026-01-00 12:00:00\"",
        "\"2026-01-05 24:00:00\"",
        "\"2026-01-05 12:60:00\"",
        "\"2026-01-05 12:00:60\"",
        "\"2026-01-05T12:00:00\"",
        "\"2026-01-05 12:00:00.000\"",
        "\"2026-01-05 12:00\"",
        "\"2026-1-05 12:00:00\"",
        "\" 2026-01-05 12:00:00\"",
        "\"2026-01-05 12:00:00 \"",
        "\"2026-01-05 12:00:0x\"",
        "\"２026-01-05 12:00:00\"", // non-ASCII digit
        "\"\"",
        "20260105120000",
        "1.5",
        "true",
        "{}",
        "[\"2026-01-05 12:00:00\"]",
    })
    void invalidTimestampsAreWrongType(String token) {
        assertOnlyReason(eval(json(with("tpep_pickup_datetime", token))), "wrong_type:tpep_pickup_datetime");
        assertOnlyReason(eval(json(with("tpep_dropoff_datetime", token))), "wrong_type:tpep_dropoff_datetime");
    }

    // ---------------------------------------------------------------- malformed_json

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "null", "true", "42", "\"a string\"", "[]", "[{\"VendorID\":2}]",
        "{", "}", "{\"VendorID\":2", "{\"VendorID\":2,}", "{VendorID:2}", "{'VendorID':2}",
        "{\"VendorID\":2} trailing", "{}{}", "{\"a\":1}[]", "{\"VendorID\":NaN}", "{\"VendorID\":01}",
        "{\"VendorID\":+1}", "{\"VendorID\":.5}", "{\"a\":1 /* c */}", "not json at all",
        "{\"a\":\"unterminated}", "{\"a\":[1,2}", "\u0000", "\uFFFF{}",
    })
    void malformed(String payload) {
        assertOnlyReason(eval(payload), "malformed_json");
    }

    @Test
    void nullPayloadIsMalformed() {
        assertOnlyReason(eval(null), "malformed_json");
    }

    @Test
    void truncatedValidEventIsMalformed() {
        String full = json(valid());
        for (int len = 0; len < full.length() - 1; len++) {
            assertEquals("malformed_json", eval(full.substring(0, len)).getField(REASON), full.substring(0, len));
        }
    }

    @Test
    void emptyObjectIsMissingVendorId() {
        assertOnlyReason(eval("{}"), "missing_field:VendorID");
    }

    @Test
    void randomGarbageNeverThrows() {
        Random rnd = new Random(42);
        String base = json(valid());
        String alphabet = "{}[]\":,.-+eE0123456789 \\nultrfas\u00e9\ud83d\ude00";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder(base);
            int edits = 1 + rnd.nextInt(4);
            for (int e = 0; e < edits && sb.length() > 0; e++) {
                int pos = rnd.nextInt(sb.length());
                switch (rnd.nextInt(3)) {
                    case 0 -> sb.deleteCharAt(pos);
                    case 1 -> sb.insert(pos, alphabet.charAt(rnd.nextInt(alphabet.length())));
                    default -> sb.setCharAt(pos, alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
            }
            Row r = eval(sb.toString());
            Object reason = r.getField(REASON);
            if (reason == null) {
                assertNotNull(r.getField(TRIP_KEY));
            } else {
                assertNull(r.getField(TRIP_KEY));
            }
        }
        // deep nesting (beyond Jackson's limit) is malformed, not a StackOverflowError
        assertEquals("malformed_json", eval("{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}").getField(REASON));
    }

    // ---------------------------------------------------------------- missing_field

    @Test
    void eachRequiredFieldMissingOrNull() {
        for (String f : REQUIRED) {
            assertOnlyReason(eval(json(without(f))), "missing_field:" + f);
            assertOnlyReason(eval(json(with(f, "null"))), "missing_field:" + f);
        }
    }

    @Test
    void missingFieldPrecedenceFollowsSqlOrder() {
        // remove required fields from the back; the first one in SQL order is reported
        Map<String, String> m = valid();
        for (int i = REQUIRED.length - 1; i >= 0; i--) {
            m.remove(REQUIRED[i]);
            assertEquals("missing_field:" + REQUIRED[i], reason(m));
        }
    }

    @Test
    void missingFieldBeatsWrongType() {
        Map<String, String> m = valid();
        m.put("VendorID", "\"abc\"");          // wrong type, checked first among wrong types
        m.remove("total_amount");                // missing, the last required field
        assertEquals("missing_field:total_amount", reason(m));
    }

    // ---------------------------------------------------------------- wrong_type

    @Test
    void intFieldsRejectNonIntegers() {
        String[] bad = {"\"abc\"", "\"\"", "\"1.0\"", "\"+1\"", "\" 1\"", "\"1 \"", "\"-\"", "\"1e2\"",
            "1.0", "1e2", "true", "false", "{}", "[]", "[1]", "{\"v\":1}"};
        for (String f : INT_FIELDS) {
            for (String tok : bad) {
                assertOnlyReason(eval(json(with(f, tok))), "wrong_type:" + f);
            }
        }
    }

    @Test
    void intFieldsOutOfIntRange() {
        String[] big = {"\"2147483648\"", "2147483648", "-2147483649", "99999999999999999999",
            "-99999999999999999999999999999"};
        for (String f : INT_FIELDS) {
            for (String tok : big) {
                assertOnlyReason(eval(json(with(f, tok))), "out_of_range:" + f);
            }
        }
    }

    @Test
    void intFieldsAcceptIntegersAndIntegerStrings() {
        for (String tok : new String[] {"0", "-5", "2147483647", "-2147483648", "\"12\"", "\"-12\"", "\"0012\""}) {
            for (String f : INT_FIELDS) {
                assertNull(reason(with(f, tok)), f + "=" + tok);
            }
        }
        assertEquals(Integer.MIN_VALUE, eval(json(with("payment_type", "-2147483648"))).getField(PAYMENT_TYPE));
        assertEquals(12, eval(json(with("RatecodeID", "\"0012\""))).getField(RATE_CODE_ID));
    }

    @Test
    void numberFieldsRejectNonNumbers() {
        String[] bad = {"\"abc\"", "\"\"", "\"1.\"", "\".5\"", "\"+1\"", "\"1e\"", "\"1.5e+\"", "\" 1\"",
            "\"1,5\"", "\"nan\"", "\"inf\"", "\"0x10\"", "\"1.2.3\"", "true", "{}", "[]", "[1.5]"};
        for (String f : NUMBER_FIELDS) {
            for (String tok : bad) {
                assertOnlyReason(eval(json(with(f, tok))), "wrong_type:" + f);
            }
        }
    }

    @Test
    void numberFieldsAcceptNumbersAndNumericStrings() {
        for (String tok : new String[] {"0", "-1", "1.5", "-0.25", "1e3", "1E-2", "1.5e+2", "\"3\"",
                "\"-3.25\"", "\"1.5E-1\"", "\"007.10\""}) {
            for (String f : NUMBER_FIELDS) {
                assertNull(reason(with(f, tok)), f + "=" + tok);
            }
        }
    }

    @Test
    void eachFieldWrongTypeReason() {
        for (String f : WRONG_TYPE_ORDER) {
            assertOnlyReason(eval(json(with(f, "\"x\""))), "wrong_type:" + f);
        }
    }

    @Test
    void wrongTypePrecedenceFollowsSqlOrder() {
        // make every field wrong, then fix them one by one in SQL order
        Map<String, String> m = valid();
        for (String f : WRONG_TYPE_ORDER) {
            m.put(f, "\"x\"");
        }
        for (String f : WRONG_TYPE_ORDER) {
            assertEquals("wrong_type:" + f, reason(m));
            if (valid().containsKey(f)) {
                m.put(f, valid().get(f));
            } else {
                m.remove(f); // an optional field the valid event does not have
            }
        }
        assertNull(reason(m));
    }

    @Test
    void nestedValueInRequiredFieldIsWrongTypeNotMissing() {
        assertEquals("wrong_type:VendorID", reason(with("VendorID", "{\"id\":2}")));
        assertEquals("wrong_type:total_amount", reason(with("total_amount", "[28.64]")));
        assertEquals("wrong_type:passenger_count", reason(with("passenger_count", "false")));
    }

    // ---------------------------------------------------------------- cbd_congestion_fee

    @Test
    void cbdCongestionFeePresentIsTypedAndLast() {
        Row r = eval(json(with("cbd_congestion_fee", "0.75")));
        assertNull(r.getField(REASON));
        assertEquals(new BigDecimal("0.75"), r.getField(CBD_CONGESTION_FEE));
        assertEquals(new BigDecimal("0.00"), r.getField(AIRPORT_FEE));
        assertEquals(new BigDecimal("1.50"), eval(json(with("cbd_congestion_fee", "\"1.5\""))).getField(CBD_CONGESTION_FEE));
        assertEquals("out_of_range:cbd_congestion_fee", eval(json(with("cbd_congestion_fee", "1.005"))).getField(REASON));
    }

    @Test
    void cbdCongestionFeeNullOrAbsentIsNull() {
        for (Map<String, String> m : java.util.List.of(valid(), with("cbd_congestion_fee", "null"))) {
            Row r = eval(json(m));
            assertNull(r.getField(REASON));
            assertNull(r.getField(CBD_CONGESTION_FEE));
        }
    }

    @Test
    void cbdCongestionFeeWrongType() {
        for (String tok : new String[] {"\"x\"", "true", "{}", "[0.75]", "\"0.75 \""}) {
            assertOnlyReason(eval(json(with("cbd_congestion_fee", tok))), "wrong_type:cbd_congestion_fee");
        }
        // checked last: any earlier wrong type wins
        Map<String, String> m = with("cbd_congestion_fee", "\"x\"");
        m.put("Airport_fee", "\"x\"");
        assertEquals("wrong_type:Airport_fee", reason(m));
        // a missing required field beats it too
        m = with("cbd_congestion_fee", "\"x\"");
        m.remove("total_amount");
        assertEquals("missing_field:total_amount", reason(m));
    }

    @Test
    void cbdCongestionFeeIsNotPartOfTripKey() {
        Object without = eval(json(valid())).getField(TRIP_KEY);
        assertEquals(without, eval(json(with("cbd_congestion_fee", "0.75"))).getField(TRIP_KEY));
        assertEquals(without, eval(json(with("cbd_congestion_fee", "null"))).getField(TRIP_KEY));
    }

    @Test
    void storeAndFwdFlagIsNotValidated() {
        assertEquals("Y", eval(json(with("store_and_fwd_flag", "\"Y\""))).getField(STORE_AND_FWD_FLAG));
        assertEquals("1", eval(json(with("store_and_fwd_flag", "1"))).getField(STORE_AND_FWD_FLAG));
        Row r = eval(json(with("store_and_fwd_flag", "{\"x\":1}")));
        assertNull(r.getField(REASON));
        assertNull(r.getField(STORE_AND_FWD_FLAG));
    }

    @Test
    void isDeterministic() {
        assertTrue(udf.isDeterministic());
        String p = json(valid());
        assertEquals(eval(p), eval(p));
    }
}
