package pod

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	genericrest "k8s.io/apiserver/pkg/registry/generic/rest"
	"k8s.io/apiserver/pkg/registry/rest"
	translator "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/core/node"
)

// Pods' streaming subresources, after upstream's pkg/registry/core/pod/rest (log.go,
// subresources.go) and the locations of pkg/registry/core/pod/strategy.go: pods/log streams the
// node agent's /containerLogs; pods/exec, pods/attach and pods/portforward proxy the upgraded
// connection to its /exec, /attach and /portForward. Websocket requests of exec and attach
// (kubectl's default since 1.30) are translated to SPDY toward the agent, and websocket
// port-forward is tunneled over SPDY, as kube-apiserver does.

// addPodStreams installs pods/log, pods/exec, pods/attach, pods/portforward and pods/proxy.
func addPodStreams(c *registry.Context, st *registry.Storage, nodes *node.Connector) error {
	s := &podStreams{store: st.Store, nodes: nodes}
	st.Subresources["log"] = &podLogREST{s}
	st.Subresources["exec"] = &podExecREST{s}
	st.Subresources["attach"] = &podAttachREST{s}
	st.Subresources["portforward"] = &podPortForwardREST{s}
	p, err := registry.NewProxyREST(c, "pod", true, func() runtime.Object { return &corev1.PodProxyOptions{} }, s.proxyLocation)
	if err != nil {
		return err
	}
	st.Subresources["proxy"] = p
	return nil
}

type podStreams struct {
	store *genericregistry.Store
	nodes *node.Connector
}

func (s *podStreams) New() runtime.Object      { return &corev1.Pod{} }
func (s *podStreams) Destroy()                 {}
func (s *podStreams) NamespaceScoped() bool    { return true }
func (s *podStreams) ConnectMethods() []string { return []string{"GET", "POST"} }

func (s *podStreams) getPod(ctx context.Context, name string) (*corev1.Pod, error) {
	obj, err := s.store.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

func containerNames(cs []corev1.Container) string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return strings.Join(names, " ")
}

func podHasContainer(pod *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// resolveContainer picks the container as upstream: the only one when none is named, else the
// named one, which must exist.
func resolveContainer(pod *corev1.Pod, name, container string) (string, error) {
	if container == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			return pod.Spec.Containers[0].Name, nil
		case 0:
			return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", name))
		default:
			msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", name, containerNames(pod.Spec.Containers))
			if len(pod.Spec.InitContainers) > 0 {
				msg += fmt.Sprintf(" or one of the init containers: [%s]", containerNames(pod.Spec.InitContainers))
			}
			return "", apierrors.NewBadRequest(msg)
		}
	}
	if !podHasContainer(pod, container) {
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, name))
	}
	return container, nil
}

// streamLocation is upstream's streamLocation: the agent's /<verb>/<ns>/<pod>/<container>.
func (s *podStreams) streamLocation(ctx context.Context, name, container, verb string, params url.Values) (*url.URL, http.RoundTripper, error) {
	pod, err := s.getPod(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if container, err = resolveContainer(pod, name, container); err != nil {
		return nil, nil, err
	}
	if pod.Spec.NodeName == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name))
	}
	base, transport, err := s.nodes.Connection(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, nil, err
	}
	loc := *base
	loc.Path = fmt.Sprintf("/%s/%s/%s/%s", verb, pod.Namespace, pod.Name, container)
	loc.RawQuery = params.Encode()
	return &loc, transport, nil
}

func streamParams(stdin, stdout, stderr, tty bool) url.Values {
	params := url.Values{}
	for _, p := range []struct {
		on  bool
		key string
	}{{stdin, corev1.ExecStdinParam}, {stdout, corev1.ExecStdoutParam}, {stderr, corev1.ExecStderrParam}, {tty, corev1.ExecTTYParam}} {
		if p.on {
			params.Add(p.key, "1")
		}
	}
	return params
}

func upgradeHandler(location *url.URL, transport http.RoundTripper, responder rest.Responder) *proxy.UpgradeAwareHandler {
	h := proxy.NewUpgradeAwareHandler(location, transport, false, true, proxy.NewErrorResponder(responder))
	return h
}

// podLogREST serves pods/log.
type podLogREST struct{ *podStreams }

var (
	_ rest.GetterWithOptions = &podLogREST{}
	_ rest.StorageMetadata   = &podLogREST{}
)

func (r *podLogREST) GetSingularName() string { return "pod" }

func (r *podLogREST) NewGetOptions() (runtime.Object, bool, string) {
	return &corev1.PodLogOptions{}, false, ""
}

func (r *podLogREST) ProducesMIMETypes(verb string) []string {
	return []string{"text/plain"}
}

func (r *podLogREST) ProducesObject(verb string) interface{} { return "" }

// ValidatePodLogOptions is upstream's.
func ValidatePodLogOptions(opts *corev1.PodLogOptions) field.ErrorList {
	var errs field.ErrorList
	if opts.TailLines != nil && *opts.TailLines < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *opts.TailLines, "must be greater than or equal to 0"))
	}
	if opts.LimitBytes != nil && *opts.LimitBytes < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *opts.LimitBytes, "must be greater than 0"))
	}
	switch {
	case opts.SinceSeconds != nil && opts.SinceTime != nil:
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	case opts.SinceSeconds != nil && *opts.SinceSeconds < 1:
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *opts.SinceSeconds, "must be greater than 0"))
	}
	if opts.Stream != nil {
		switch *opts.Stream {
		case corev1.LogStreamStdout, corev1.LogStreamStderr, corev1.LogStreamAll:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("stream"), *opts.Stream,
				[]string{corev1.LogStreamStdout, corev1.LogStreamStderr, corev1.LogStreamAll}))
		}
		if *opts.Stream != corev1.LogStreamAll && opts.TailLines != nil {
			errs = append(errs, field.Forbidden(field.NewPath(""), "`tailLines` and specific `stream` are mutually exclusive for now"))
		}
	}
	return errs
}

func (r *podLogREST) Get(ctx context.Context, name string, opts runtime.Object) (runtime.Object, error) {
	logOpts, ok := opts.(*corev1.PodLogOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	if errs := ValidatePodLogOptions(logOpts); len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("PodLogOptions").GroupKind(), name, errs)
	}
	location, transport, err := r.logLocation(ctx, name, logOpts)
	if err != nil {
		return nil, err
	}
	return logStreamer{&genericrest.LocationStreamer{
		Location:        location,
		Transport:       transport,
		ContentType:     "text/plain",
		Flush:           logOpts.Follow,
		ResponseChecker: genericrest.NewGenericHttpResponseChecker(schema.GroupResource{Resource: "pods/log"}, name),
		RedirectChecker: genericrest.PreventRedirects,
	}}, nil
}

// logStreamer is the agent's log stream whose reads never return bytes together with io.EOF:
// the websocket writer of k8s.io/apiserver (wsstream.Reader, used when pods/log is read over a
// websocket) drops the bytes of a read that also ends the stream, as a response with a
// Content-Length or whose last chunk came in the same packet reads.
type logStreamer struct{ *genericrest.LocationStreamer }

func (s logStreamer) InputStream(ctx context.Context, apiVersion, acceptHeader string) (io.ReadCloser, bool, string, error) {
	rc, flush, contentType, err := s.LocationStreamer.InputStream(ctx, apiVersion, acceptHeader)
	if rc == nil {
		return rc, flush, contentType, err
	}
	return &eofApart{ReadCloser: rc}, flush, contentType, err
}

// eofApart returns a read's bytes first and its io.EOF on the next read.
type eofApart struct {
	io.ReadCloser
	eof bool
}

func (r *eofApart) Read(p []byte) (int, error) {
	if r.eof {
		return 0, io.EOF
	}
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF && n > 0 {
		r.eof = true
		err = nil
	}
	return n, err
}

// logLocation is upstream's LogLocation; a pod not yet on a node has an empty log.
func (r *podLogREST) logLocation(ctx context.Context, name string, opts *corev1.PodLogOptions) (*url.URL, http.RoundTripper, error) {
	pod, err := r.getPod(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	container, err := resolveContainer(pod, name, opts.Container)
	if err != nil {
		return nil, nil, err
	}
	if pod.Spec.NodeName == "" {
		return nil, nil, nil
	}
	base, transport, err := r.nodes.Connection(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, nil, err
	}
	params := url.Values{}
	if opts.Follow {
		params.Add("follow", "true")
	}
	if opts.Previous {
		params.Add("previous", "true")
	}
	if opts.Timestamps {
		params.Add("timestamps", "true")
	}
	if opts.SinceSeconds != nil {
		params.Add("sinceSeconds", strconv.FormatInt(*opts.SinceSeconds, 10))
	}
	if opts.SinceTime != nil {
		params.Add("sinceTime", opts.SinceTime.Format(time.RFC3339))
	}
	if opts.TailLines != nil {
		params.Add("tailLines", strconv.FormatInt(*opts.TailLines, 10))
	}
	if opts.LimitBytes != nil {
		params.Add("limitBytes", strconv.FormatInt(*opts.LimitBytes, 10))
	}
	if opts.Stream != nil {
		params.Add("stream", *opts.Stream)
	}
	loc := *base
	loc.Path = fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, container)
	loc.RawQuery = params.Encode()
	return &loc, transport, nil
}

// podExecREST serves pods/exec.
type podExecREST struct{ *podStreams }

var _ rest.Connecter = &podExecREST{}

// New is the kind of each connect subresource, as upstream's: its options (pods/exec is
// PodExecOptions in discovery and in the admission attributes, so a webhook on pods/exec gets
// them; upstream's "should be able to deny attaching pod" relies on it). pods/log stays Pod.
func (r *podExecREST) New() runtime.Object        { return &corev1.PodExecOptions{} }
func (r *podAttachREST) New() runtime.Object      { return &corev1.PodAttachOptions{} }
func (r *podPortForwardREST) New() runtime.Object { return &corev1.PodPortForwardOptions{} }

func (r *podExecREST) GetSingularName() string { return "pod" }

func (r *podExecREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodExecOptions{}, false, ""
}

func (r *podExecREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o, ok := opts.(*corev1.PodExecOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	params := streamParams(o.Stdin, o.Stdout, o.Stderr, o.TTY)
	for _, c := range o.Command {
		params.Add("command", c)
	}
	location, transport, err := r.streamLocation(ctx, name, o.Container, "exec", params)
	if err != nil {
		return nil, err
	}
	return translatingStreamHandler(location, transport, responder, translator.Options{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Tty: o.TTY}), nil
}

// translatingStreamHandler proxies SPDY upgrades as they are and translates websocket ones
// (v5.channel.k8s.io) to SPDY toward the agent.
func translatingStreamHandler(location *url.URL, transport http.RoundTripper, responder rest.Responder, opts translator.Options) http.Handler {
	spdy := upgradeHandler(location, transport, responder)
	ws := translator.NewStreamTranslatorHandler(location, transport, 0, opts)
	return translator.NewTranslatingHandler(spdy, ws, wsstream.IsWebSocketRequestWithStreamCloseProtocol)
}

// podAttachREST serves pods/attach.
type podAttachREST struct{ *podStreams }

var _ rest.Connecter = &podAttachREST{}

func (r *podAttachREST) GetSingularName() string { return "pod" }

func (r *podAttachREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodAttachOptions{}, false, ""
}

func (r *podAttachREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o, ok := opts.(*corev1.PodAttachOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	location, transport, err := r.streamLocation(ctx, name, o.Container, "attach", streamParams(o.Stdin, o.Stdout, o.Stderr, o.TTY))
	if err != nil {
		return nil, err
	}
	return translatingStreamHandler(location, transport, responder, translator.Options{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Tty: o.TTY}), nil
}

// podPortForwardREST serves pods/portforward.
type podPortForwardREST struct{ *podStreams }

var _ rest.Connecter = &podPortForwardREST{}

func (r *podPortForwardREST) GetSingularName() string { return "pod" }

func (r *podPortForwardREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodPortForwardOptions{}, false, ""
}

func (r *podPortForwardREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o, ok := opts.(*corev1.PodPortForwardOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	pod, err := r.getPod(ctx, name)
	if err != nil {
		return nil, err
	}
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name))
	}
	base, transport, err := r.nodes.Connection(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	params := url.Values{}
	if len(o.Ports) > 0 {
		ports := make([]string, len(o.Ports))
		for i, p := range o.Ports {
			ports[i] = strconv.FormatInt(int64(p), 10)
		}
		params.Add(corev1.PortHeader, strings.Join(ports, ","))
	}
	loc := *base
	loc.Path = fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name)
	loc.RawQuery = params.Encode()
	spdy := upgradeHandler(&loc, transport, responder)
	return translator.NewTranslatingHandler(spdy, translator.NewTunnelingHandler(spdy), wsstream.IsWebSocketRequestWithTunnelingProtocol), nil
}

// addStreamOptionConversions registers the query-parameter decoding of the pods' streaming
// options (upstream's generated Convert_url_Values_To_v1_Pod*Options).
func addStreamOptionConversions(s *runtime.Scheme) error {
	for _, c := range []struct {
		out runtime.Object
		fn  func(in map[string][]string, out any) error
	}{
		{&corev1.PodLogOptions{}, convertPodLogOptions},
		{&corev1.PodExecOptions{}, convertPodExecOptions},
		{&corev1.PodAttachOptions{}, convertPodAttachOptions},
		{&corev1.PodPortForwardOptions{}, convertPodPortForwardOptions},
	} {
		fn := c.fn
		if err := s.AddConversionFunc((*url.Values)(nil), c.out, func(a, b any, _ conversion.Scope) error {
			return fn(*a.(*url.Values), b)
		}); err != nil {
			return err
		}
	}
	return nil
}

func queryValues(in map[string][]string, key string) *[]string {
	v := in[key]
	return &v
}

func convertPodLogOptions(in map[string][]string, o any) error {
	out := o.(*corev1.PodLogOptions)
	*out = corev1.PodLogOptions{TypeMeta: out.TypeMeta}
	for _, err := range []error{
		runtime.Convert_Slice_string_To_string(queryValues(in, "container"), &out.Container, nil),
		runtime.Convert_Slice_string_To_bool(queryValues(in, "follow"), &out.Follow, nil),
		runtime.Convert_Slice_string_To_bool(queryValues(in, "previous"), &out.Previous, nil),
		runtime.Convert_Slice_string_To_Pointer_int64(queryValues(in, "sinceSeconds"), &out.SinceSeconds, nil),
		runtime.Convert_Slice_string_To_bool(queryValues(in, "timestamps"), &out.Timestamps, nil),
		runtime.Convert_Slice_string_To_Pointer_int64(queryValues(in, "tailLines"), &out.TailLines, nil),
		runtime.Convert_Slice_string_To_Pointer_int64(queryValues(in, "limitBytes"), &out.LimitBytes, nil),
		runtime.Convert_Slice_string_To_bool(queryValues(in, "insecureSkipTLSVerifyBackend"), &out.InsecureSkipTLSVerifyBackend, nil),
	} {
		if err != nil {
			return err
		}
	}
	// Convert_Slice_string_To_Pointer_v1_Time makes a zero time of an absent parameter.
	if v := in["sinceTime"]; len(v) > 0 {
		if err := metav1.Convert_Slice_string_To_Pointer_v1_Time(&v, &out.SinceTime, nil); err != nil {
			return err
		}
	}
	if v := in["stream"]; len(v) > 0 {
		stream := v[0]
		out.Stream = &stream
	}
	return nil
}

func convertPodExecOptions(in map[string][]string, o any) error {
	out := o.(*corev1.PodExecOptions)
	*out = corev1.PodExecOptions{TypeMeta: out.TypeMeta}
	if err := convertStreamBools(in, &out.Stdin, &out.Stdout, &out.Stderr, &out.TTY); err != nil {
		return err
	}
	out.Command = append([]string(nil), in["command"]...)
	return runtime.Convert_Slice_string_To_string(queryValues(in, "container"), &out.Container, nil)
}

func convertPodAttachOptions(in map[string][]string, o any) error {
	out := o.(*corev1.PodAttachOptions)
	*out = corev1.PodAttachOptions{TypeMeta: out.TypeMeta}
	if err := convertStreamBools(in, &out.Stdin, &out.Stdout, &out.Stderr, &out.TTY); err != nil {
		return err
	}
	return runtime.Convert_Slice_string_To_string(queryValues(in, "container"), &out.Container, nil)
}

func convertStreamBools(in map[string][]string, stdin, stdout, stderr, tty *bool) error {
	for key, out := range map[string]*bool{"stdin": stdin, "stdout": stdout, "stderr": stderr, "tty": tty} {
		if err := runtime.Convert_Slice_string_To_bool(queryValues(in, key), out, nil); err != nil {
			return err
		}
	}
	return nil
}

func convertPodPortForwardOptions(in map[string][]string, o any) error {
	out := o.(*corev1.PodPortForwardOptions)
	*out = corev1.PodPortForwardOptions{TypeMeta: out.TypeMeta}
	if v, ok := in["ports"]; ok {
		return metav1.Convert_Slice_string_To_Slice_int32(&v, &out.Ports, nil)
	}
	return nil
}
