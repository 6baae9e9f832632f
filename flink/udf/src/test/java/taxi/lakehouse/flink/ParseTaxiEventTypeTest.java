package taxi.lakehouse.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.catalog.UnresolvedIdentifier;
import org.apache.flink.table.functions.FunctionDefinition;
import org.apache.flink.table.types.AbstractDataType;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.UnresolvedDataType;
import org.apache.flink.table.types.extraction.DataTypeExtractor;
import org.apache.flink.table.types.inference.CallContext;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.utils.LogicalTypeParser;
import org.apache.flink.table.types.utils.TypeConversions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

/** Runs Flink's own UDF type extraction (no cluster, no planner) on ParseTaxiEvent. */
class ParseTaxiEventTypeTest {

    static final String EXPECTED =
            "ROW<`reason` STRING, `trip_key` STRING, `vendor_id` INT, `pickup_ts` TIMESTAMP(3), "
                    + "`dropoff_ts` TIMESTAMP(3), `passenger_count` INT, `trip_distance` DOUBLE, "
                    + "`rate_code_id` INT, `store_and_fwd_flag` STRING, `pu_location_id` INT, "
                    + "`do_location_id` INT, `payment_type` INT, `fare_amount` DECIMAL(10, 2), "
                    + "`extra` DECIMAL(10, 2), `mta_tax` DECIMAL(10, 2), `tip_amount` DECIMAL(10, 2), "
                    + "`tolls_amount` DECIMAL(10, 2), `improvement_surcharge` DECIMAL(10, 2), "
                    + "`total_amount` DECIMAL(10, 2), `congestion_surcharge` DECIMAL(10, 2), "
                    + "`airport_fee` DECIMAL(10, 2), `cbd_congestion_fee` DECIMAL(10, 2)>";

    /** Just enough of a DataTypeFactory for annotation-based extraction. */
    static final class Factory implements DataTypeFactory {
        @Override
        public DataType createDataType(AbstractDataType<?> t) {
            return t instanceof DataType ? (DataType) t : ((UnresolvedDataType) t).toDataType(this);
        }

        @Override
        public DataType createDataType(String s) {
            return TypeConversions.fromLogicalToDataType(createLogicalType(s));
        }

        @Override
        public DataType createDataType(UnresolvedIdentifier id) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <T> DataType createDataType(Class<T> c) {
            return DataTypeExtractor.extractFromType(this, c);
        }

        @Override
        public <T> DataType createDataType(TypeInformation<T> t) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <T> DataType createRawDataType(Class<T> c) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <T> DataType createRawDataType(TypeInformation<T> t) {
            throw new UnsupportedOperationException();
        }

        @Override
        public LogicalType createLogicalType(String s) {
            return LogicalTypeParser.parse(s, getClass().getClassLoader());
        }

        @Override
        public LogicalType createLogicalType(UnresolvedIdentifier id) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void flinkInfersTheResultRowType() {
        ParseTaxiEvent udf = new ParseTaxiEvent();
        Factory factory = new Factory();
        TypeInference inference = udf.getTypeInference(factory);
        CallContext call = new CallContext() {
            @Override public DataTypeFactory getDataTypeFactory() { return factory; }
            @Override public FunctionDefinition getFunctionDefinition() { return udf; }
            @Override public boolean isArgumentLiteral(int pos) { return false; }
            @Override public boolean isArgumentNull(int pos) { return false; }
            @Override public <T> Optional<T> getArgumentValue(int pos, Class<T> clazz) { return Optional.empty(); }
            @Override public String getName() { return "PARSE_TAXI_EVENT"; }
            @Override public List<DataType> getArgumentDataTypes() { return List.of(DataTypes.STRING()); }
            @Override public Optional<DataType> getOutputDataType() { return Optional.empty(); }
            @Override public boolean isGroupedAggregation() { return false; }
        };
        DataType out = inference.getOutputTypeStrategy().inferType(call).orElseThrow();
        System.out.println("ParseTaxiEvent result type: " + out.getLogicalType().asSerializableString());
        assertEquals(EXPECTED, out.getLogicalType().asSummaryString());
        assertEquals(org.apache.flink.types.Row.class, out.getConversionClass());
    }
}
