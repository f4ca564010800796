package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/bootstrap"
	"github.com/skiff-dev/skiff/nodeagent/join"
)

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage join tokens",
	}
	cmd.AddCommand(newTokenCreateCommand())
	return cmd
}

func newTokenCreateCommand() *cobra.Command {
	var (
		ttl          time.Duration
		kubeconfig   string
		dataDir      = apiserver.NewOptions().DataDir
		description  string
		controlPlane bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a join token for `skiff agent --token` and print it",
		Long: "Create a join token <id>.<secret>, stored as the Secret kube-system/bootstrap-token-<id>\n" +
			"(type bootstrap.kubernetes.io/token, as upstream's bootstrap tokens). A node uses it once to\n" +
			"obtain its own client certificate. The token is printed on stdout, a join command on stderr.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if kubeconfig == "" {
				kubeconfig = filepath.Join(dataDir, "kubeconfig")
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("loading %s: %w", kubeconfig, err)
			}
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			if ttl < 0 {
				return fmt.Errorf("--ttl must not be negative")
			}
			var secretErr error
			for attempt := 0; attempt < 3; attempt++ {
				tok, err := bootstrap.GenerateToken()
				if err != nil {
					return err
				}
				opts := bootstrap.SecretOptions{TTL: ttl, Description: description}
				if controlPlane {
					// Only for `skiff server --join`: it reads the cluster's CA and key with it.
					opts.ExtraGroups, opts.Usages = []string{bootstrap.ControlPlaneGroup}, []string{"authentication"}
				}
				secret := bootstrap.NewSecret(tok, opts)
				_, secretErr = client.CoreV1().Secrets(bootstrap.Namespace).Create(cmd.Context(), secret, metav1.CreateOptions{})
				if apierrors.IsAlreadyExists(secretErr) {
					continue
				}
				if secretErr != nil {
					return fmt.Errorf("storing the token: %w", secretErr)
				}
				fmt.Fprintln(cmd.OutOrStdout(), tok.String())
				hint := fmt.Sprintf("skiff agent --server %s --token %s --node-name <name>", cfg.Host, tok)
				if controlPlane {
					hint = fmt.Sprintf("skiff server --join %s --token %s --member-name <name>", cfg.Host, tok)
				}
				if certs, err := certutil.ParseCertsPEM(cfg.CAData); err == nil && len(certs) > 0 {
					hint += " --ca-cert-hash " + join.CAHash(certs[0])
				}
				expiry := "never expires"
				if ttl > 0 {
					expiry = "expires in " + ttl.String()
				}
				what := "a node"
				if controlPlane {
					what = "a control-plane member"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Join %s (the token %s) with:\n  %s\n", what, expiry, hint)
				return nil
			}
			return fmt.Errorf("storing the token: %w", secretErr)
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "How long the token is valid (0: it never expires).")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "Admin kubeconfig of the cluster (default <data-dir>/kubeconfig).")
	cmd.Flags().StringVar(&dataDir, "data-dir", dataDir, "Data dir of the control plane, whose kubeconfig is used when --kubeconfig is not given.")
	cmd.Flags().StringVar(&description, "description", "", "A description stored with the token.")
	cmd.Flags().BoolVar(&controlPlane, "control-plane", false, "A token for `skiff server --join` (a new control-plane member, which receives the cluster CA and its key), not for nodes.")
	return cmd
}
