package apiserver

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	"k8s.io/client-go/kubernetes"
)

// HardeningOptions are the API server's defences and records, with kube-apiserver's flags:
// the audit log, encryption of secrets at rest and the in-flight request limits.
type HardeningOptions struct {
	// AuditLogPath, when set, writes audit.k8s.io/v1 events as JSON lines to this file ("-": stdout).
	AuditLogPath string
	// AuditPolicyFile is the audit policy; without one, every request is logged at the Metadata
	// level (RequestReceived omitted).
	AuditPolicyFile string
	// EncryptionProviderConfig is an EncryptionConfiguration file; empty uses
	// <data-dir>/encryption-config.yaml, created on first start with a new aescbc key for secrets.
	EncryptionProviderConfig string
	// MaxRequestsInFlight and MaxMutatingRequestsInFlight bound the concurrent non-mutating and
	// mutating requests (kube-apiserver's 400 and 200; 0: no limit); beyond them clients get 429.
	// The two budgets are separate, so a flood of reads cannot take the writes' share.
	MaxRequestsInFlight, MaxMutatingRequestsInFlight int
	// MaxRequestBodyBytes bounds request bodies (kube-apiserver's 3 MiB; larger ones get 413).
	MaxRequestBodyBytes int64
	// EnablePriorityAndFairness replaces the two in-flight budgets with API priority and
	// fairness (kube-apiserver's default): the FlowSchemas and PriorityLevelConfigurations of
	// flowcontrol.apiserver.k8s.io classify every request and share the sum of the two limits
	// among priority levels, with fair queuing between flows (users, namespaces) in each.
	EnablePriorityAndFairness bool
}

// NewHardeningOptions returns kube-apiserver's defaults.
func NewHardeningOptions() HardeningOptions {
	return HardeningOptions{MaxRequestsInFlight: 400, MaxMutatingRequestsInFlight: 200, MaxRequestBodyBytes: 3 * 1024 * 1024,
		EnablePriorityAndFairness: true}
}

// AddFlags binds the options to kube-apiserver's flag names.
func (h *HardeningOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&h.AuditLogPath, "audit-log-path", h.AuditLogPath, "If set, all requests coming to the apiserver will be logged to this file as audit.k8s.io/v1 JSON lines. '-' means standard out.")
	fs.StringVar(&h.AuditPolicyFile, "audit-policy-file", h.AuditPolicyFile, "Path to the file that defines the audit policy configuration (default with --audit-log-path: every request at the Metadata level).")
	fs.StringVar(&h.EncryptionProviderConfig, "encryption-provider-config", h.EncryptionProviderConfig, "The file containing the EncryptionConfiguration for storage (default: <data-dir>/encryption-config.yaml, aescbc for secrets, created on first start).")
	fs.IntVar(&h.MaxRequestsInFlight, "max-requests-inflight", h.MaxRequestsInFlight, "The maximum number of non-mutating requests in flight at a given time. When the server exceeds this, it rejects requests. Zero for no limit.")
	fs.IntVar(&h.MaxMutatingRequestsInFlight, "max-mutating-requests-inflight", h.MaxMutatingRequestsInFlight, "The maximum number of mutating requests in flight at a given time. When the server exceeds this, it rejects requests. Zero for no limit.")
	fs.BoolVar(&h.EnablePriorityAndFairness, "enable-priority-and-fairness", h.EnablePriorityAndFairness, "If true, replace the max-in-flight handler with an enhanced one that queues and dispatches with priority and fairness (the FlowSchemas and PriorityLevelConfigurations); the two in-flight limits add up to the server's concurrency.")
}

// applyHardening sets the in-flight limits (or priority and fairness), the body size limit and the audit backend.
func (c *Config) applyHardening() error {
	h, gc := c.Options.Hardening, c.Generic
	if h.MaxRequestsInFlight < 0 || h.MaxMutatingRequestsInFlight < 0 {
		return fmt.Errorf("--max-requests-inflight and --max-mutating-requests-inflight must not be negative")
	}
	gc.MaxRequestsInFlight, gc.MaxMutatingRequestsInFlight = h.MaxRequestsInFlight, h.MaxMutatingRequestsInFlight
	if h.MaxRequestBodyBytes > 0 {
		gc.MaxRequestBodyBytes = h.MaxRequestBodyBytes
	}
	// As kube-apiserver's FeatureOptions: priority and fairness in place of the in-flight filter,
	// configured from the flowcontrol objects (bootstrapped by the config producer, server.go).
	// Without limits (both 0) there is nothing to share: no filter at all, as before.
	if h.EnablePriorityAndFairness && h.MaxRequestsInFlight+h.MaxMutatingRequestsInFlight > 0 {
		client, err := kubernetes.NewForConfig(gc.LoopbackClientConfig)
		if err != nil {
			return fmt.Errorf("priority and fairness client: %w", err)
		}
		gc.FlowControl = utilflowcontrol.New(gc.SharedInformerFactory, client.FlowcontrolV1(), h.MaxRequestsInFlight+h.MaxMutatingRequestsInFlight)
	}
	return c.applyAudit(&gc.Config)
}

// defaultAuditPolicy logs every request's metadata, once it has an answer.
const defaultAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
- RequestReceived
rules:
- level: Metadata
`

func (c *Config) applyAudit(gc *genericapiserver.Config) error {
	h := c.Options.Hardening
	if h.AuditLogPath == "" {
		if h.AuditPolicyFile != "" {
			return fmt.Errorf("--audit-policy-file needs --audit-log-path")
		}
		return nil
	}
	policy := h.AuditPolicyFile
	if policy == "" {
		policy = filepath.Join(c.Options.DataDir, "audit-policy-default.yaml")
		if err := os.WriteFile(policy, []byte(defaultAuditPolicy), 0o600); err != nil {
			return fmt.Errorf("writing the default audit policy: %w", err)
		}
	}
	if h.AuditLogPath != "-" {
		if err := os.MkdirAll(filepath.Dir(h.AuditLogPath), 0o700); err != nil {
			return fmt.Errorf("audit log directory: %w", err)
		}
	}
	opts := genericoptions.NewAuditOptions()
	opts.PolicyFile = policy
	opts.LogOptions.Path = h.AuditLogPath
	if errs := opts.Validate(); len(errs) > 0 {
		return fmt.Errorf("audit options: %w", errors.Join(errs...))
	}
	if err := opts.ApplyTo(gc); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// encryptionConfigPath returns the EncryptionConfiguration to use, creating the default one
// (aescbc with a new random 32-byte key for secrets, identity to read what was stored before)
// on first start.
func (o *Options) encryptionConfigPath() (string, error) {
	if p := o.Hardening.EncryptionProviderConfig; p != "" {
		return p, nil
	}
	path := filepath.Join(o.DataDir, "encryption-config.yaml")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("encryption config: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generating the encryption key: %w", err)
	}
	cfg := fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources:
  - secrets
  providers:
  - aescbc:
      keys:
      - name: key1
        secret: %s
  - identity: {}
`, base64.StdEncoding.EncodeToString(key))
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("encryption config: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		return "", fmt.Errorf("writing the encryption config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("writing the encryption config: %w", err)
	}
	return path, nil
}
