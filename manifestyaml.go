package confab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Manifests come as JSON or as YAML, which is how Slack's app settings
// show them and how most apps ship them. A YAML manifest is converted to
// JSON once, here, and from then on is a JSON manifest like any other:
// stored, checked and exported as JSON. Which one a manifest is is told by
// its first character: '{' is JSON (a YAML document that is also a JSON
// object reads the same either way), anything else YAML.

// maxYAMLDepth bounds the nesting of a YAML manifest (a manifest is a
// few levels deep; an alias pointing at its own ancestor is infinitely so).
const maxYAMLDepth = 64

// isJSONManifest reports whether raw is to be read as JSON.
func isJSONManifest(raw string) bool {
	return strings.HasPrefix(strings.TrimLeft(raw, " \t\r\n"), "{")
}

// yamlToJSON converts a YAML manifest to compact JSON, keeping the order
// of its keys. What it cannot convert is a *ManifestError whose message
// says why and where: the line of a syntax error, the JSON pointer of a
// value JSON cannot hold.
func yamlToJSON(raw string) (string, error) {
	dec := yaml.NewDecoder(strings.NewReader(raw))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return "", manifestProblem("/", "Manifest is empty")
		}
		return "", manifestProblem("/", "Manifest is not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return "", manifestProblem("/", "Manifest must be a single YAML document")
	}
	c := yamlConv{}
	c.node(&doc, "", 0)
	if c.err == nil && c.buf.Len() > MaxManifestBytes {
		c.err = manifestProblem("/", "Manifest is too large")
	}
	if c.err != nil {
		return "", c.err
	}
	return c.buf.String(), nil
}

func manifestProblem(ptr, msg string) *ManifestError {
	return &ManifestError{Problems: []ManifestProblem{{Message: msg, Pointer: ptr}}}
}

// yamlConv writes YAML nodes as JSON. It stops at the first problem, and
// once the JSON outgrows MaxManifestBytes (aliases can multiply a small
// document).
type yamlConv struct {
	buf bytes.Buffer
	err *ManifestError
}

func (c *yamlConv) fail(n *yaml.Node, ptr, msg string) {
	if c.err == nil {
		if ptr == "" {
			ptr = "/"
		}
		c.err = manifestProblem(ptr, fmt.Sprintf("%s (line %d)", msg, n.Line))
	}
}

func (c *yamlConv) node(n *yaml.Node, ptr string, depth int) {
	if c.err != nil {
		return
	}
	if depth > maxYAMLDepth {
		c.fail(n, ptr, "Manifest is nested too deeply")
		return
	}
	if c.buf.Len() > MaxManifestBytes {
		c.err = manifestProblem("/", "Manifest is too large")
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			c.fail(n, ptr, "Manifest is empty")
			return
		}
		c.node(n.Content[0], ptr, depth+1)
	case yaml.AliasNode:
		c.node(n.Alias, ptr, depth+1)
	case yaml.MappingNode:
		c.mapping(n, ptr, depth)
	case yaml.SequenceNode:
		c.buf.WriteByte('[')
		for i, v := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			c.node(v, fmt.Sprintf("%s/%d", ptr, i), depth+1)
		}
		c.buf.WriteByte(']')
	case yaml.ScalarNode:
		c.scalar(n, ptr)
	default:
		c.fail(n, ptr, "Unsupported YAML value")
	}
}

func (c *yamlConv) mapping(n *yaml.Node, ptr string, depth int) {
	c.buf.WriteByte('{')
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			c.fail(k, ptr, "Keys must be plain strings (no merge keys or complex keys)")
			return
		}
		kptr := ptr + "/" + strings.ReplaceAll(strings.ReplaceAll(k.Value, "~", "~0"), "/", "~1")
		if seen[k.Value] {
			c.fail(k, kptr, "Duplicate key "+k.Value)
			return
		}
		seen[k.Value] = true
		if i > 0 {
			c.buf.WriteByte(',')
		}
		key, _ := json.Marshal(k.Value)
		c.buf.Write(key)
		c.buf.WriteByte(':')
		c.node(v, kptr, depth+1)
	}
	c.buf.WriteByte('}')
}

// scalar writes a scalar as the JSON value YAML 1.2's core schema reads
// it as: null, a boolean, a number or a string.
func (c *yamlConv) scalar(n *yaml.Node, ptr string) {
	var v any
	if err := n.Decode(&v); err != nil {
		c.fail(n, ptr, "Invalid value: "+strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	switch x := v.(type) {
	case nil, bool, string, int, int64, uint64:
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			c.fail(n, ptr, "Numbers must be finite")
			return
		}
	default: // a timestamp, binary data: kept as written
		v = n.Value
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.fail(n, ptr, "Invalid value")
		return
	}
	c.buf.Write(b)
}
