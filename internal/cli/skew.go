package cli

import (
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/templates"
)

// skewInputs hands the run's clock-skew estimates to the report.
func skewInputs(es []pipeline.SkewEstimate) []templates.SkewInput {
	out := make([]templates.SkewInput, 0, len(es))
	for _, e := range es {
		out = append(out, templates.SkewInput{SourceSkew: e.SourceSkew, Applied: e.Applied, Note: e.Note})
	}
	return out
}
