package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/skiff-dev/skiff/apiserver/insight/history"
)

func newHistoryCommand() *cobra.Command {
	var flags clusterFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "history KIND/NAME",
		Short: "Show every revision of an object still in etcd's history, as diffs, with who wrote each and when",
		Long: "Show every revision of an object still in etcd's history (the API server compacts it every 5 minutes), " +
			"oldest first: its resourceVersion, time, field manager, user and operation, then a diff of its YAML " +
			"against the revision before (managedFields and resourceVersion left out). KIND is resolved as kubectl " +
			"does: deploy, deployment.apps, pods, Deployment.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name, err := splitKindName(args[0])
			if err != nil {
				return err
			}
			client, _, ns, err := flags.client()
			if err != nil {
				return err
			}
			m, err := resolveResource(client.Discovery(), kind)
			if err != nil {
				return err
			}
			if m.Scope.Name() != meta.RESTScopeNameNamespace {
				ns = ""
			}
			var resp history.Response
			err = getInsight(cmd.Context(), client.CoreV1().RESTClient(), history.Path, url.Values{
				"group": {m.Resource.Group}, "version": {m.Resource.Version}, "resource": {m.Resource.Resource},
				"namespace": {ns}, "name": {name}, "limit": {fmt.Sprint(limit)}}, &resp)
			if err != nil {
				return err
			}
			renderHistory(cmd.OutOrStdout(), resp)
			return nil
		},
	}
	flags.add(cmd.Flags(), true)
	cmd.Flags().IntVar(&limit, "limit", history.DefaultLimit, "Show at most this many revisions (the newest).")
	return cmd
}

// renderHistory prints the revisions oldest first: a header line each, then its diff.
func renderHistory(w io.Writer, resp history.Response) {
	what := resp.Resource
	if resp.Group != "" {
		what += "." + resp.Group
	}
	what += "/" + resp.Name
	if resp.Namespace != "" {
		what += " in namespace " + resp.Namespace
	}
	fmt.Fprintf(w, "%s: %d revisions\n", what, len(resp.Revisions))
	if resp.Compacted {
		fmt.Fprintln(w, "(older revisions were compacted by etcd)")
	}
	if resp.Truncated {
		fmt.Fprintln(w, "(older revisions left out: --limit)")
	}
	unknownUser := false
	for _, r := range resp.Revisions {
		user := r.User
		if user == "" {
			user, unknownUser = "?", true
		}
		manager := r.Manager
		if manager == "" {
			manager = "-"
		}
		when := "-"
		if !r.Time.IsZero() {
			when = r.Time.UTC().Format("2006-01-02T15:04:05Z")
		}
		fmt.Fprintf(w, "\nRV %s  %s  manager %s  user %s  %s\n", r.ResourceVersion, when, manager, user, r.Operation)
		if r.Deleted {
			fmt.Fprintln(w, "  (deleted)")
			continue
		}
		if r.Diff == "" {
			fmt.Fprintln(w, "  (no change but managedFields or resourceVersion)")
			continue
		}
		for _, line := range strings.Split(strings.TrimSuffix(r.Diff, "\n"), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	}
	if unknownUser {
		fmt.Fprintln(w, "\nuser ?: the write was not served by this API server since it started (the user is known only there)")
	}
}
