package taxi.lakehouse.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.TableFunction;
import org.apache.flink.types.Row;

/**
 * {@link ParseTaxiEvent} as a table function: exactly one output row per input record.
 *
 * <p>Used as {@code FROM t, LATERAL TABLE(parse_taxi_event(t.payload))}. The planner inlines a
 * scalar function once per referenced field ({@code f(x).a, f(x).b, ...}), which would parse the
 * JSON once per column; a lateral table function is evaluated once per record.
 */
@FunctionHint(output = @DataTypeHint(ParseTaxiEvent.RESULT_TYPE))
public class ParseTaxiEventTable extends TableFunction<Row> {

    private final ParseTaxiEvent parser = new ParseTaxiEvent();

    public void eval(String payload) {
        collect(parser.eval(payload));
    }

    @Override
    public boolean isDeterministic() {
        return true;
    }
}
