package lakehouse.kestra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kestra.core.junit.annotations.KestraTest;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.MetricEntry;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.flows.State;
import io.kestra.core.repositories.MetricRepositoryInterface;
import io.kestra.core.runners.FlowInputOutput;
import io.kestra.core.runners.TestRunnerUtils;
import io.kestra.core.services.ExecutionOutputService;
import io.kestra.core.services.TaskOutputService;
import io.kestra.core.services.FlowService;
import io.kestra.core.tenant.TenantService;
import io.micronaut.data.model.Pageable;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs kestra/flows/taxi_pipeline.yml in Kestra 2.0's embedded runner (executor, worker,
 * scheduler in this JVM; memory queue and repository) with the Process task runner: the tasks are
 * real `lakehouse` processes against the stack configured in this JVM's environment
 * (KAFKA_BOOTSTRAP_SERVERS, FLINK_*, LAKEHOUSE_HOME, ...; `lakehouse` on PATH).
 * Only with -Dkestra.execute=true (it needs the running stack).
 */
// no embedded HTTP server (the test reads the repositories): when a service fails at startup,
// Kestra's uncaught-exception handler shuts the context down while the test extension stops that
// server, and the two deadlock (the JVM hangs instead of failing within a minute)
@KestraTest(startRunner = true, startApplication = false)
@EnabledIfSystemProperty(named = "kestra.execute", matches = "true")
@TestInstance(TestInstance.Lifecycle.PER_CLASS) // getProperties() is read before the context starts
class FlowExecutionTest implements TestPropertyProvider {
    // a new seed per run: the same seed twice produces the same trips, which silver deduplicates
    static final int SEED = (int) (System.currentTimeMillis() / 1000 % 1_000_000);

    @Inject
    FlowService flowService;

    @Inject
    TestRunnerUtils runnerUtils;

    @Inject
    FlowInputOutput flowIO;

    @Inject
    MetricRepositoryInterface metrics;

    // Kestra 2.0 keeps outputs apart from the execution (GET /api/v1/{tenant}/outputs/{id})
    @Inject
    TaskOutputService taskOutputs;

    @Inject
    ExecutionOutputService executionOutputs;

    /**
     * The worker controller's gRPC port. Micronaut's ${random.port} may pick a port in the kernel's
     * ephemeral range, which an outgoing connection of any process can take before the controller
     * binds it (the likely cause of a CI run whose controller failed to start). A port below that
     * range (/proc/sys/net/ipv4/ip_local_port_range starts at 32768), checked free on every
     * address, can only be taken by another listener.
     */
    @Override
    public Map<String, String> getProperties() {
        return Map.of("kestra.controller.port", String.valueOf(freePort(20_000, 32_000)));
    }

    static int freePort(int from, int to) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(from, to);
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(false);
                socket.bind(new InetSocketAddress(port)); // the wildcard address, as gRPC binds it
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free port in [" + from + ", " + to + ") after 200 attempts");
    }

    @Test
    void pipelineRunsToSuccess() throws Exception {
        String tenant = TenantService.MAIN_TENANT;
        flowService.importFlow(tenant, Files.readString(FlowValidationTest.FLOW));
        Map<String, Object> inputs = Map.of(
            "events", Integer.getInteger("kestra.events", 1500), "mode", "burst", "seed", String.valueOf(SEED),
            "days", 2, "anomaly_rate", 0.01);

        Execution execution = runnerUtils.runOne(tenant, "lakehouse", "taxi_pipeline", null,
            (flow, exec) -> flowIO.readExecutionInputs(flow, exec, inputs), Duration.ofMinutes(10));

        for (TaskRun run : execution.getTaskRunList()) {
            Map<String, Object> out = taskOutputs.getOutputs(run);
            Object vars = out == null ? null : out.get("vars");
            System.out.printf("kestra task %-20s %-8s %s vars=%s%n", run.getTaskId(),
                run.getState().getCurrent(), run.getState().getDuration().orElse(null),
                vars instanceof Map<?, ?> m ? m.keySet() : vars);
        }
        Map<String, Object> flowOutputs = executionOutputs.getOutputs(execution);
        System.out.println("kestra execution " + execution.getId() + " " + execution.getState().getCurrent()
            + " flow outputs=" + flowOutputs);
        assertEquals(State.Type.SUCCESS, execution.getState().getCurrent());
        assertEquals(FlowValidationTest.ORDER, execution.getTaskRunList().stream().map(TaskRun::getTaskId).toList());
        assertEquals(true, flowOutputs.get("verified"));
        assertTrue(String.valueOf(flowOutputs.get("run_id")).endsWith("-" + SEED), "run_id: " + flowOutputs);
        assertTrue(((Number) flowOutputs.get("messages_acked")).intValue() >= (Integer) inputs.get("events"));

        Set<String> names = metrics.findByExecutionId(tenant, execution.getId(), Pageable.from(1, 200)).stream()
            .map(MetricEntry::getName).collect(Collectors.toSet());
        System.out.println("kestra metrics " + names);
        assertTrue(names.contains("messages_acked"), "no messages_acked metric: " + names);
    }
}
