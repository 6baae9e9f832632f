package taxi.lakehouse.flink;

// GENERATED from contracts/raw_trip.avsc by `make contract` (python -m lakehouse.contract).
// Do not edit: change the schema and render again (tests/unit/test_contract.py checks it).

/** The event's fields as the parser sees them, in schema order (= the bronze SQL's order). */
final class TripContract {

    private TripContract() {}

    /** The parser's result fields, in order (a compile-time constant for the annotations). */
    static final String RESULT_FIELDS =
            "reason STRING, trip_key STRING, vendor_id INT, pickup_ts TIMESTAMP(3), dropoff_ts TIMESTAMP(3), passenger_count INT, trip_distance DOUBLE, rate_code_id INT, store_and_fwd_flag STRING, pu_location_id INT, do_location_id INT, payment_type INT, fare_amount DECIMAL(10, 2), extra DECIMAL(10, 2), mta_tax DECIMAL(10, 2), tip_amount DECIMAL(10, 2), tolls_amount DECIMAL(10, 2), improvement_surcharge DECIMAL(10, 2), total_amount DECIMAL(10, 2), congestion_surcharge DECIMAL(10, 2), airport_fee DECIMAL(10, 2), cbd_congestion_fee DECIMAL(10, 2)";

    /** How a field is typed. */
    static final byte INT = 0;
    static final byte TIMESTAMP = 1;
    static final byte DOUBLE = 2;
    static final byte AMOUNT = 3;
    static final byte TEXT = 4;

    /** Number of event fields; the result row has two more (reason, trip_key) before them. */
    static final int FIELD_COUNT = 20;

    static final String[] NAMES = {
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

    static final byte[] KINDS = {
        INT, // VendorID
        TIMESTAMP, // tpep_pickup_datetime
        TIMESTAMP, // tpep_dropoff_datetime
        INT, // passenger_count
        DOUBLE, // trip_distance
        INT, // RatecodeID
        TEXT, // store_and_fwd_flag
        INT, // PULocationID
        INT, // DOLocationID
        INT, // payment_type
        AMOUNT, // fare_amount
        AMOUNT, // extra
        AMOUNT, // mta_tax
        AMOUNT, // tip_amount
        AMOUNT, // tolls_amount
        AMOUNT, // improvement_surcharge
        AMOUNT, // total_amount
        AMOUNT, // congestion_surcharge
        AMOUNT, // Airport_fee
        AMOUNT, // cbd_congestion_fee
    };

    /** Required fields (missing_field when absent or null), in schema order. */
    static final int[] REQUIRED = {0, 1, 2, 4, 7, 8, 9, 10, 16};

    /** The natural key's fields, in key order (trip_key = their literal texts joined by '|'). */
    static final int[] TRIP_KEY = {0, 1, 2, 7, 8, 4, 16};
}
