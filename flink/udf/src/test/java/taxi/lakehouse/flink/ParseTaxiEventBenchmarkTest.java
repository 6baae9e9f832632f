package taxi.lakehouse.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

import java.util.Locale;
import java.util.Random;

/** Micro-benchmark-ish: prints records/s for one thread; asserts correctness only, never timing. */
class ParseTaxiEventBenchmarkTest {

    static final int EVENTS = 200_000;

    static String[] events(int n) {
        Random rnd = new Random(7);
        String[] out = new String[n];
        for (int i = 0; i < n; i++) {
            int minute = rnd.nextInt(60);
            double fare = 3 + rnd.nextInt(6000) / 100.0;
            double tip = rnd.nextInt(1500) / 100.0;
            double total = fare + tip + 1.0 + 0.5 + 2.5;
            out[i] = String.format(Locale.ROOT,
                    "{\"VendorID\":%d,\"tpep_pickup_datetime\":\"2026-01-%02d %02d:%02d:%02d\","
                            + "\"tpep_dropoff_datetime\":\"2026-01-%02d %02d:%02d:%02d\","
                            + "\"passenger_count\":%d,\"trip_distance\":%.2f,\"RatecodeID\":1,"
                            + "\"store_and_fwd_flag\":\"N\",\"PULocationID\":%d,\"DOLocationID\":%d,"
                            + "\"payment_type\":%d,\"fare_amount\":%.2f,\"extra\":1.0,\"mta_tax\":0.5,"
                            + "\"tip_amount\":%.2f,\"tolls_amount\":0.0,\"improvement_surcharge\":1.0,"
                            + "\"total_amount\":%.2f,\"congestion_surcharge\":2.5,\"Airport_fee\":%s}",
                    1 + rnd.nextInt(2), 1 + rnd.nextInt(28), rnd.nextInt(23), minute, rnd.nextInt(60),
                    1 + rnd.nextInt(28), 23, minute, rnd.nextInt(60),
                    1 + rnd.nextInt(4), rnd.nextInt(3000) / 100.0, 1 + rnd.nextInt(265),
                    1 + rnd.nextInt(265), 1 + rnd.nextInt(4), fare, tip, total,
                    rnd.nextInt(10) == 0 ? "1.75" : "null");
        }
        return out;
    }

    @Test
    void parse200kEvents() {
        ParseTaxiEvent udf = new ParseTaxiEvent();
        String[] events = events(EVENTS);

        long valid = 0;
        for (int i = 0; i < 50_000; i++) { // warm-up (JIT)
            if (udf.eval(events[i % EVENTS]).getField(0) == null) {
                valid++;
            }
        }
        long bytes = 0;
        for (String e : events) {
            bytes += e.length();
        }
        valid = 0;
        long start = System.nanoTime();
        for (String e : events) {
            Row r = udf.eval(e);
            if (r.getField(0) == null) {
                valid++;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT,
                "ParseTaxiEvent benchmark: %d events (avg %d chars) in %.3f s = %,.0f records/s (1 thread)%n",
                EVENTS, bytes / EVENTS, seconds, EVENTS / seconds);
        assertEquals(EVENTS, valid);
    }

    /**
     * The bronze job's Avro path: decode + render the payload text + the contract's rules, with
     * the fields captured while decoding against parsing the rendered text back (the old path).
     */
    @Test
    void decodeAvro200kEvents() throws Exception {
        Random rnd = new Random(7);
        byte[][] wires = new byte[EVENTS][];
        for (int i = 0; i < EVENTS; i++) {
            GenericRecord r = DecodeTaxiEventTableTest.trip(DecodeTaxiEventTableTest.V1);
            r.put("trip_distance", rnd.nextInt(3000) / 100.0);
            r.put("fare_amount", 3 + rnd.nextInt(6000) / 100.0);
            r.put("tip_amount", rnd.nextInt(1500) / 100.0);
            r.put("PULocationID", 1 + rnd.nextInt(265));
            wires[i] = DecodeTaxiEventTableTest.wire(1, r);
        }
        ParseTaxiEvent parser = new ParseTaxiEvent();
        double[] rates = new double[2];
        for (int pass = 0; pass < 4; pass++) { // two warm-up passes (JIT), then measured
            for (int captured = 0; captured < 2; captured++) {
                long valid = 0;
                long start = System.nanoTime();
                for (byte[] b : wires) {
                    AvroJson.Fields fields = new AvroJson.Fields();
                    String text = AvroJson.decode(DecodeTaxiEventTableTest.V1, b, 5, b.length - 5, fields);
                    Row row = captured == 1 && fields.complete
                            ? ParseTaxiEvent.validateFields(fields.kinds, fields.texts)
                            : parser.eval(text);
                    if (row.getField(0) == null) {
                        valid++;
                    }
                }
                rates[captured] = EVENTS / ((System.nanoTime() - start) / 1e9);
                assertEquals(EVENTS, valid);
            }
        }
        System.out.printf(Locale.ROOT,
                "Avro decode + rules benchmark: %,.0f records/s parsing the rendered text, %,.0f records/s"
                        + " on the fields captured while decoding (1 thread)%n", rates[0], rates[1]);
    }
}
