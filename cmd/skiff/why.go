package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/apiserver/insight/why"
)

func newWhyCommand() *cobra.Command {
	var flags clusterFlags
	cmd := &cobra.Command{
		Use:   "why pod/NAME",
		Short: "Explain why a pod is Pending or not Ready, in plain sentences",
		Long: "Explain why a pod is Pending (each node and the filter that rejected it, with the numbers, from the " +
			"scheduler's last attempt) or not Ready (image pulls, probes, crash loops with the last error, init " +
			"containers), from the API server's /insight/v1/why.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name, err := splitKindName(args[0])
			if err != nil {
				return err
			}
			switch strings.ToLower(kind) {
			case "pod", "pods", "po":
			default:
				return fmt.Errorf("skiff why explains pods: pod/NAME, not %s", args[0])
			}
			client, _, ns, err := flags.client()
			if err != nil {
				return err
			}
			var resp why.Response
			if err := getInsight(cmd.Context(), client.CoreV1().RESTClient(), why.Path, url.Values{"namespace": {ns}, "name": {name}}, &resp); err != nil {
				return err
			}
			renderWhy(cmd.OutOrStdout(), resp)
			return nil
		},
	}
	flags.add(cmd.Flags(), true)
	return cmd
}

// renderWhy prints one sentence a line; the nodes' and containers' under the first.
func renderWhy(w io.Writer, resp why.Response) {
	for i, s := range resp.Explanation {
		if i > 0 && !strings.HasPrefix(s, "Pod ") && !strings.HasPrefix(s, why.DiagnosisUnavailable) {
			s = "  " + s
		}
		fmt.Fprintln(w, s)
	}
}
