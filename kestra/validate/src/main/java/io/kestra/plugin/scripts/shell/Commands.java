package io.kestra.plugin.scripts.shell;

import io.kestra.core.models.annotations.Plugin;
import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.RunnableTask;
import io.kestra.core.models.tasks.runners.TargetOS;
import io.kestra.core.runners.RunContext;
import io.kestra.plugin.scripts.exec.AbstractExecScript;
import io.kestra.plugin.scripts.exec.scripts.models.DockerOptions;
import io.kestra.plugin.scripts.exec.scripts.models.ScriptOutput;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import java.util.List;

/**
 * Stand-in for the shell task of Kestra's script plugin (io.kestra.plugin:plugin-script-shell),
 * written for this project because that artifact is not served by the Maven registry these
 * machines reach. It has the task's type name and its two own properties ({@code commands},
 * {@code containerImage}); every other property (taskRunner, env, beforeCommands, interpreter,
 * outputFiles, namespaceFiles, timeout, retry, ...) is inherited from Kestra 2.0's real
 * {@link AbstractExecScript} (io.kestra:script), and {@link #run} drives Kestra's real
 * CommandsWrapper and task runner, so parsing, validation and execution are Kestra's own.
 */
@Schema(title = "Run shell commands (project stand-in for the plugin-script-shell task).")
@Plugin
public class Commands extends AbstractExecScript implements RunnableTask<ScriptOutput> {
    private static final String DEFAULT_IMAGE = "ubuntu";

    @Schema(title = "Container image, used only by container task runners.")
    protected Property<String> containerImage = Property.ofValue(DEFAULT_IMAGE);

    @Schema(title = "Shell commands to run.")
    @NotNull
    protected Property<List<String>> commands;

    public Commands() {
        super();
    }

    @Override
    public Property<String> getContainerImage() {
        return containerImage;
    }

    public Property<List<String>> getCommands() {
        return commands;
    }

    @Override
    protected DockerOptions injectDefaults(RunContext runContext, DockerOptions original)
        throws io.kestra.core.exceptions.IllegalVariableEvaluationException {
        var builder = original.toBuilder();
        if (original.getImage() == null) {
            builder.image(runContext.render(this.getContainerImage()).as(String.class).orElse(null));
        }
        return builder.build();
    }

    @Override
    public ScriptOutput run(RunContext runContext) throws Exception {
        TargetOS os = runContext.render(this.targetOS).as(TargetOS.class).orElse(null);
        return this.commands(runContext)
            .withInterpreter(this.interpreter)
            .withBeforeCommands(this.beforeCommands)
            .withBeforeCommandsWithOptions(true)
            .withCommands(this.commands)
            .withTargetOS(os)
            .run();
    }
}
