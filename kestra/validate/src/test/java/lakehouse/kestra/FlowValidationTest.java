package lakehouse.kestra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.junit.annotations.KestraTest;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.flows.FlowSource;
import io.kestra.core.models.tasks.Task;
import io.kestra.core.models.validations.ModelValidator;
import io.kestra.core.models.validations.ValidateConstraintViolation;
import io.kestra.core.serializers.YamlParser;
import io.kestra.core.services.FlowService;
import io.kestra.core.tenant.TenantService;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The flows in kestra/flows, checked by Kestra 2.0's own code: FlowService.validate (what the
 * server's POST /api/v1/{tenant}/flows/validate runs: parse with the plugin registry, bean
 * validation, flow checks, deprecations), then YamlParser + ModelValidator directly. Broken copies
 * of the flow must be rejected, so the check is known to bite.
 */
@KestraTest
class FlowValidationTest {
    static final Path FLOWS = Path.of(System.getProperty("flows.dir", "../flows"));
    static final Path FLOW = FLOWS.resolve("taxi_pipeline.yml");
    static final List<String> ORDER = List.of(
        "create_topics", "generate_events", "flink_bronze", "flink_silver",
        "wait_for_processing", "dbt_build", "verify");

    @Inject
    FlowService flowService;

    @Inject
    ModelValidator modelValidator;

    static String read(Path path) {
        try {
            return Files.readString(path);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    List<ValidateConstraintViolation> validate(String name, String source) {
        return flowService.validate(TenantService.MAIN_TENANT, List.of(new FlowSource(name, source)));
    }

    @Test
    void everyFlowIsValid() throws IOException {
        List<Path> flows;
        try (Stream<Path> files = Files.list(FLOWS)) {
            flows = files.filter(p -> p.toString().endsWith(".yml") || p.toString().endsWith(".yaml"))
                .sorted().toList();
        }
        assertFalse(flows.isEmpty(), "no flow in " + FLOWS.toAbsolutePath());
        for (Path path : flows) {
            List<ValidateConstraintViolation> results = validate(path.getFileName().toString(), read(path));
            assertEquals(1, results.size());
            ValidateConstraintViolation r = results.getFirst();
            System.out.printf("kestra validate %s: flow=%s.%s constraints=%s deprecations=%s warnings=%s infos=%s%n",
                path.getFileName(), r.getNamespace(), r.getFlow(), r.getConstraints(),
                r.getDeprecationPaths(), r.getWarnings(), r.getInfos());
            assertNull(r.getConstraints(), path + " is invalid: " + r.getConstraints());
            assertTrue(r.getDeprecationPaths() == null || r.getDeprecationPaths().isEmpty(),
                path + " uses deprecated properties: " + r.getDeprecationPaths());
        }
    }

    @Test
    void pipelineParsesWithTheExpectedShape() {
        Flow flow = YamlParser.parse(read(FLOW), Flow.class);
        modelValidator.validate(flow);
        assertEquals("lakehouse", flow.getNamespace());
        assertEquals("taxi_pipeline", flow.getId());
        assertEquals(ORDER, flow.getTasks().stream().map(Task::getId).toList());
        for (Task task : flow.getTasks()) {
            assertEquals("io.kestra.plugin.scripts.shell.Commands", task.getType(), task.getId());
            var script = (io.kestra.plugin.scripts.shell.Commands) task;
            assertEquals("io.kestra.plugin.core.runner.Process", script.getTaskRunner().getType(), task.getId());
            assertNotNull(task.getTimeout(), task.getId() + " has no timeout");
        }
        assertNotNull(flow.getTasks().get(0).getRetry(), "create_topics has no retry");
        assertNotNull(flow.getTasks().get(1).getRetry(), "generate_events has no retry");
        assertEquals(1, flow.getConcurrency().getLimit());
        assertFalse(flow.getErrors().isEmpty(), "no errors branch");
        assertFalse(flow.getLabels().isEmpty(), "no labels");
        assertEquals(List.of("events", "mode", "rate", "seed", "days", "anomaly_rate"),
            flow.getInputs().stream().map(i -> i.getId()).toList());
    }

    // ------------------------------------------------------------------ must be rejected
    void assertRejected(String what, String broken) {
        assertFalse(broken.equals(read(FLOW)), what + ": the edit did not change the flow");
        List<ValidateConstraintViolation> results = validate("broken.yml", broken);
        String constraints = results.getFirst().getConstraints();
        System.out.printf("rejected (%s): %s%n", what, constraints == null ? null : constraints.lines().findFirst().orElse(""));
        assertNotNull(constraints, what + " was accepted");
        assertThrows(Exception.class, () -> modelValidator.validate(YamlParser.parse(broken, Flow.class)),
            what + " was accepted by YamlParser + ModelValidator");
    }

    @Test
    void unknownTaskTypeIsRejected() {
        assertRejected("unknown task type", read(FLOW).replaceFirst(
            "type: io.kestra.plugin.scripts.shell.Commands", "type: io.kestra.plugin.scripts.shell.Komands"));
    }

    @Test
    void unknownPropertyIsRejected() {
        assertRejected("unknown property", read(FLOW).replaceFirst(
            "    commands:\n", "    commandz:\n"));
    }

    @Test
    void unknownTaskRunnerIsRejected() {
        assertRejected("unknown task runner", read(FLOW).replaceFirst(
            "type: io.kestra.plugin.core.runner.Process", "type: io.kestra.plugin.core.runner.Proces"));
    }

    @Test
    void badRetryIsRejected() {
        assertRejected("retry without interval type", read(FLOW).replaceFirst(
            "type: exponential", "type: sometimes"));
    }

    @Test
    void badInputTypeIsRejected() {
        assertRejected("unknown input type", read(FLOW).replaceFirst("type: SELECT", "type: CHOICE"));
    }
}
