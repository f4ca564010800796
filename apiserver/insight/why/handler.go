package why

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/insight/scheddiag"
)

// Path is where the API server explains pods.
const Path = "/insight/v1/why"

// Response is the answer of Path.
type Response struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Node      string `json:"node,omitempty"`
	Phase     string `json:"phase"`
	// Explanation is Explain's sentences.
	Explanation []string `json:"explanation"`
	// Diagnosis is the scheduler's last diagnosis of the pod, when this process has it.
	Diagnosis *scheddiag.Diagnosis `json:"diagnosis,omitempty"`
}

// Handler serves Path: GET ?namespace=NS&name=N.
type Handler struct {
	// Client reads the pod and its events (the API server's loopback client).
	Client kubernetes.Interface
	// Diagnoses are the in-process scheduler's (nil: none in this process).
	Diagnoses scheddiag.Source
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("only GET is served"))
		return
	}
	ns, name := r.URL.Query().Get("namespace"), r.URL.Query().Get("name")
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	if name == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("name is required"))
		return
	}
	resp, err := h.Why(r.Context(), ns, name)
	if err != nil {
		status := http.StatusInternalServerError
		if apierrors.IsNotFound(err) {
			status = http.StatusNotFound
		}
		writeError(w, status, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// Why reads the pod, its events and its diagnosis, and explains it.
func (h *Handler) Why(ctx context.Context, ns, name string) (*Response, error) {
	pod, err := h.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	events, err := h.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(pod.UID)).String()})
	if err != nil {
		return nil, fmt.Errorf("listing the pod's events: %w", err)
	}
	var d *scheddiag.Diagnosis
	if h.Diagnoses != nil && pod.Spec.NodeName == "" {
		if got, ok := h.Diagnoses.Diagnosis(pod.UID); ok {
			d = &got
		}
	}
	return &Response{Namespace: ns, Name: name, Node: pod.Spec.NodeName, Phase: string(phaseOf(pod)),
		Explanation: Explain(pod, events.Items, d), Diagnosis: d}, nil
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
