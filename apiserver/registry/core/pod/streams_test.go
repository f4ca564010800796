package pod

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/apis"
)

// TestStreamOptionsFromQuery decodes the streaming options from query parameters through the
// parameter codec, as the API server does for pods/log, exec, attach and portforward.
func TestStreamOptionsFromQuery(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := addStreamOptionConversions(scheme); err != nil {
		t.Fatal(err)
	}
	codec := runtime.NewParameterCodec(scheme)
	int64p := func(n int64) *int64 { return &n }
	since := metav1.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	stdout := "Stdout"
	for _, tc := range []struct {
		query string
		into  runtime.Object
		want  runtime.Object
	}{
		{"container=a&follow=true&previous=1&timestamps=false&tailLines=10&limitBytes=5&sinceTime=2024-01-02T03:04:05Z&stream=Stdout",
			&corev1.PodLogOptions{},
			&corev1.PodLogOptions{Container: "a", Follow: true, Previous: true, TailLines: int64p(10), LimitBytes: int64p(5), SinceTime: &since, Stream: &stdout}},
		{"sinceSeconds=30", &corev1.PodLogOptions{}, &corev1.PodLogOptions{SinceSeconds: int64p(30)}},
		{"command=sh&command=-c&command=echo+hi&container=main&stdin=true&stdout=true&stderr=true&tty=true",
			&corev1.PodExecOptions{},
			&corev1.PodExecOptions{Command: []string{"sh", "-c", "echo hi"}, Container: "main", Stdin: true, Stdout: true, Stderr: true, TTY: true}},
		{"container=main&stdout=1", &corev1.PodAttachOptions{}, &corev1.PodAttachOptions{Container: "main", Stdout: true}},
		{"ports=8080,9090&ports=1", &corev1.PodPortForwardOptions{}, &corev1.PodPortForwardOptions{Ports: []int32{8080, 9090, 1}}},
	} {
		q, _ := url.ParseQuery(tc.query)
		if err := codec.DecodeParameters(q, corev1.SchemeGroupVersion, tc.into); err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if o, ok := tc.into.(*corev1.PodLogOptions); ok && o.SinceTime != nil {
			o.SinceTime.Time = o.SinceTime.UTC()
		}
		if !reflect.DeepEqual(tc.into, tc.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.query, tc.into, tc.want)
		}
	}
	q, _ := url.ParseQuery("tailLines=x")
	if err := codec.DecodeParameters(q, corev1.SchemeGroupVersion, &corev1.PodLogOptions{}); err == nil {
		t.Errorf("tailLines=x decoded")
	}
}

func TestResolveContainer(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}},
	}}
	for _, tc := range []struct {
		pod       *corev1.Pod
		container string
		want      string
		wantErr   string
	}{
		{pod: pod, wantErr: "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [init]"},
		{pod: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}}},
			wantErr: "a container name must be specified for pod web, choose one of: [a b]"},
		{pod: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "only"}}}}, want: "only"},
		{pod: pod, container: "init", want: "init"},
		{pod: pod, container: "b", want: "b"},
		{pod: pod, container: "x", wantErr: "container x is not valid for pod web"},
	} {
		got, err := resolveContainer(tc.pod, "web", tc.container)
		switch {
		case tc.wantErr != "":
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: %v, want %q", tc.container, err, tc.wantErr)
			}
		case err != nil || got != tc.want:
			t.Errorf("%q: %q, %v, want %q", tc.container, got, err, tc.want)
		}
	}
}

func TestValidatePodLogOptions(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	now := metav1.Now()
	stderr, bad := "Stderr", "stdin"
	for _, tc := range []struct {
		opts corev1.PodLogOptions
		want string
	}{
		{corev1.PodLogOptions{TailLines: n(0), LimitBytes: n(1), SinceSeconds: n(1)}, ""},
		{corev1.PodLogOptions{TailLines: n(-1)}, "tailLines: Invalid value: -1: must be greater than or equal to 0"},
		{corev1.PodLogOptions{LimitBytes: n(0)}, "limitBytes: Invalid value: 0: must be greater than 0"},
		{corev1.PodLogOptions{SinceSeconds: n(0)}, "sinceSeconds: Invalid value: 0: must be greater than 0"},
		{corev1.PodLogOptions{SinceSeconds: n(5), SinceTime: &now}, "at most one of `sinceTime` or `sinceSeconds` may be specified"},
		{corev1.PodLogOptions{Stream: &bad}, `stream: Unsupported value: "stdin"`},
		{corev1.PodLogOptions{Stream: &stderr, TailLines: n(1)}, "`tailLines` and specific `stream` are mutually exclusive for now"},
	} {
		errs := ValidatePodLogOptions(&tc.opts)
		got := errs.ToAggregate()
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%+v: %v", tc.opts, got)
		case tc.want != "" && (got == nil || !strings.Contains(got.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.opts, got, tc.want)
		}
	}
}
