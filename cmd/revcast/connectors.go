package main

// The connectors revcast ships; each registers itself with extract.Register.
import (
	_ "github.com/revcast/revcast/extract/files"
)
