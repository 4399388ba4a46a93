// Package builtin assembles the registry of every log format postmortem
// knows. Specific formats come first, so they win detection ties over the
// generic ones (syslog, key=value, JSON).
package builtin

import (
	"fmt"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/haproxy"
	"github.com/postmortem-tool/postmortem/parsers/jsonl"
	"github.com/postmortem-tool/postmortem/parsers/kernel"
	"github.com/postmortem-tool/postmortem/parsers/kv"
	"github.com/postmortem-tool/postmortem/parsers/nginx"
	"github.com/postmortem-tool/postmortem/parsers/sockstat"
	"github.com/postmortem-tool/postmortem/parsers/spring"
	"github.com/postmortem-tool/postmortem/parsers/syslog"
)

// Registry returns a registry of the built-in formats plus one compiled
// nginx access format per log_format string, named nginx-custom-1, -2, ...
// A bad log_format is an error naming its position.
func Registry(nginxLogFormats ...string) (*parsers.Registry, error) {
	var custom []parsers.Format
	for i, lf := range nginxLogFormats {
		f, err := nginx.NewAccessFormat(fmt.Sprintf("nginx-custom-%d", i+1), lf)
		if err != nil {
			return nil, err
		}
		custom = append(custom, f)
	}
	errFmt, hap, kern := nginx.ErrorFormat(), haproxy.Format(), kernel.Format()
	fs := append(custom,
		nginx.AccessFormat(),
		errFmt,
		hap,
		spring.Format(),
		sockstat.Format(),
		kern,
		kv.Format(),
		jsonl.Format(),
		syslog.Format(errFmt, hap, kern),
	)
	return parsers.NewRegistry(fs...), nil
}
