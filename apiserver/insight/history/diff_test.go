package history

import "testing"

func TestLineDiff(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{name: "same", a: "a\nb\n", b: "a\nb\n", want: ""},
		{name: "created", a: "", b: "a\nb\n", want: "@@ line 1\n+ a\n+ b\n"},
		{name: "deleted", a: "a\nb\n", b: "", want: "@@ line 1\n- a\n- b\n"},
		{
			name: "changed line with context",
			a:    "1\n2\n3\n4\n5\n6\n7\n",
			b:    "1\n2\n3\nfour\n5\n6\n7\n",
			want: "@@ line 2\n  2\n  3\n- 4\n+ four\n  5\n  6\n",
		},
		{
			name: "two hunks",
			a:    "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
			b:    "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n",
			want: "@@ line 1\n- 1\n+ one\n  2\n  3\n@@ line 9\n  9\n  10\n+ 11\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LineDiff(tc.a, tc.b); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
