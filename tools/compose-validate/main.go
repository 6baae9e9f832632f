// compose-validate loads a Compose file with compose-go, the library `docker compose` itself uses
// to read, validate (compose-spec JSON schema), interpolate, normalize and consistency-check a
// project, and prints the resolved model as JSON (what `docker compose config --format json`
// prints). It exits non-zero on any error.
//
// Usage:
//
//	compose-validate [-env-file FILE] [-profile NAME]... [-strict] [-no-env-resolution] COMPOSE_FILE
//
// -strict additionally fails when the file references a variable that has neither a value in
// the environment/env file nor a default (${VAR:-x}) or a required marker (${VAR:?msg}): a typo
// such as ${POSTGRES_PASWORD} would otherwise only be a warning and an empty string.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/template"
	"go.yaml.in/yaml/v4"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compose-validate: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var envFiles, profiles multiFlag
	var strict, noEnvResolution bool
	flag.Var(&envFiles, "env-file", "env file for interpolation (repeatable; default: none, only the OS environment)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable; '*' enables all)")
	flag.BoolVar(&strict, "strict", false, "fail on variables without value, default or required marker")
	flag.BoolVar(&noEnvResolution, "no-env-resolution", false, "do not read services' env_file entries")
	flag.Parse()
	if flag.NArg() != 1 {
		fail("usage: compose-validate [flags] COMPOSE_FILE")
	}
	file, err := filepath.Abs(flag.Arg(0))
	if err != nil {
		fail("%v", err)
	}

	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithProfiles(profiles),
	}
	if noEnvResolution {
		opts = append(opts, cli.WithoutEnvironmentResolution)
	}
	options, err := cli.NewProjectOptions([]string{file}, opts...)
	if err != nil {
		fail("options: %v", err)
	}

	if strict {
		checkVariables(file, options.Environment)
	}

	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail("%v", err)
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		fail("marshal: %v", err)
	}
	fmt.Println(string(out))
}

// checkVariables lists every ${VAR} of the raw file and fails on the ones with no value, no
// default and no required marker.
func checkVariables(file string, env map[string]string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		fail("%v", err)
	}
	var model map[string]any
	if err := yaml.Unmarshal(raw, &model); err != nil {
		fail("yaml: %v", err)
	}
	var missing []string
	for name, v := range template.ExtractVariables(model, template.DefaultPattern) {
		if _, ok := env[name]; ok {
			continue
		}
		if v.DefaultValue != "" || v.Required || v.PresenceValue != "" {
			continue
		}
		missing = append(missing, name)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		fail("variables without a value or default: %s", strings.Join(missing, ", "))
	}
}
