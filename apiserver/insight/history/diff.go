package history

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// diffContext is how many unchanged lines surround each change.
const diffContext = 2

// LineDiff is a readable line diff from a to b: changed lines prefixed "- " and "+ ", with
// diffContext unchanged lines ("  ") around them and a "@@ line N" header before each hunk
// (N is the hunk's first line in b). Identical texts give "".
func LineDiff(a, b string) string {
	al, bl := splitLines(a), splitLines(b)
	m := difflib.NewMatcher(al, bl)
	var out strings.Builder
	for _, group := range m.GetGroupedOpCodes(diffContext) {
		fmt.Fprintf(&out, "@@ line %d\n", group[0].J1+1)
		for _, op := range group {
			if op.Tag == 'e' {
				emit(&out, "  ", al[op.I1:op.I2])
				continue
			}
			// 'd', 'i' and 'r': what a had there, then what b has.
			emit(&out, "- ", al[op.I1:op.I2])
			emit(&out, "+ ", bl[op.J1:op.J2])
		}
	}
	return out.String()
}

func emit(out *strings.Builder, prefix string, lines []string) {
	for _, l := range lines {
		out.WriteString(prefix + l + "\n")
	}
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
