package rulefmt

import "go.yaml.in/yaml/v3"

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Line: 1, Column: 1}
}
