// Command postmortem turns the logs and metrics of a bad deploy into one
// timeline, names the failure with evidence, and drafts the postmortem.
package main

import (
	"os"

	"github.com/postmortem-tool/postmortem/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.DefaultIO()))
}
