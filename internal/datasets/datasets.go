// Package datasets locates the shared public datasets (../shared/datasets next to the
// repository, or $REVCAST_DATASETS) for tests and benchmarks.
package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that overrides the datasets directory.
const EnvVar = "REVCAST_DATASETS"

// Dir returns the shared datasets directory and checks that its subdirectory sub exists:
// $REVCAST_DATASETS, or ../shared/datasets next to the repository root (the directory
// holding go.mod). When sub is missing it skips the test with a message saying where it
// looked and how to point elsewhere, unless CI=true, where a missing dataset is a failure.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv(EnvVar)
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "datasets")
	}
	if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
		msg := fmt.Sprintf("%s data not found in %s (set %s to the datasets directory): %v", sub, filepath.Join(dir, sub), EnvVar, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
