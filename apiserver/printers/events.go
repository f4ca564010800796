package printers

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kube-apiserver serves core/v1 and events.k8s.io/v1 events from the same internal type and
// prints both with the same columns; here each version is mapped onto eventFields first.

func init() {
	register(schema.GroupResource{Group: eventsv1.GroupName, Resource: "events"},
		newConvertor(eventColumns, func(l *eventsv1.EventList) []eventsv1.Event { return l.Items }, printEventsEvent))
}

var eventColumns = []metav1.TableColumnDefinition{
	{Name: "Last Seen", Type: "string", Description: corev1.Event{}.SwaggerDoc()["lastTimestamp"]},
	{Name: "Type", Type: "string", Description: corev1.Event{}.SwaggerDoc()["type"]},
	{Name: "Reason", Type: "string", Description: corev1.Event{}.SwaggerDoc()["reason"]},
	{Name: "Object", Type: "string", Description: corev1.Event{}.SwaggerDoc()["involvedObject"]},
	{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
	{Name: "Source", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["source"]},
	{Name: "Message", Type: "string", Description: corev1.Event{}.SwaggerDoc()["message"]},
	{Name: "First Seen", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["firstTimestamp"]},
	{Name: "Count", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["count"]},
	{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: objectMetaDoc["name"]},
}

// eventFields are the fields of an event that its table row shows, in core/v1 terms.
type eventFields struct {
	name                string
	firstTimestamp      metav1.Time
	lastTimestamp       metav1.Time
	eventTime           metav1.MicroTime
	count               int32
	series              *eventsv1.EventSeries
	involvedObject      corev1.ObjectReference
	eventType           string
	reason              string
	message             string
	source              corev1.EventSource
	reportingController string
	reportingInstance   string
}

func printCoreEvent(e *corev1.Event) metav1.TableRow {
	f := eventFields{
		name:                e.Name,
		firstTimestamp:      e.FirstTimestamp,
		lastTimestamp:       e.LastTimestamp,
		eventTime:           e.EventTime,
		count:               e.Count,
		involvedObject:      e.InvolvedObject,
		eventType:           e.Type,
		reason:              e.Reason,
		message:             e.Message,
		source:              e.Source,
		reportingController: e.ReportingController,
		reportingInstance:   e.ReportingInstance,
	}
	if e.Series != nil {
		f.series = &eventsv1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return printEvent(&f)
}

func printEventsEvent(e *eventsv1.Event) metav1.TableRow {
	return printEvent(&eventFields{
		name:                e.Name,
		firstTimestamp:      e.DeprecatedFirstTimestamp,
		lastTimestamp:       e.DeprecatedLastTimestamp,
		eventTime:           e.EventTime,
		count:               e.DeprecatedCount,
		series:              e.Series,
		involvedObject:      e.Regarding,
		eventType:           e.Type,
		reason:              e.Reason,
		message:             e.Note,
		source:              e.DeprecatedSource,
		reportingController: e.ReportingController,
		reportingInstance:   e.ReportingInstance,
	})
}

func printEvent(e *eventFields) metav1.TableRow {
	firstTimestamp := translateTimestampSince(e.firstTimestamp)
	if e.firstTimestamp.IsZero() {
		firstTimestamp = translateMicroTimestampSince(e.eventTime)
	}
	lastTimestamp := translateTimestampSince(e.lastTimestamp)
	if e.lastTimestamp.IsZero() {
		lastTimestamp = firstTimestamp
	}
	count := e.count
	if e.series != nil {
		lastTimestamp = translateMicroTimestampSince(e.series.LastObservedTime)
		count = e.series.Count
	} else if count == 0 {
		// singleton events of the new API have no count
		count = 1
	}

	target := strings.ToLower(e.involvedObject.Kind)
	if e.involvedObject.Name != "" {
		target = fmt.Sprintf("%s/%s", target, e.involvedObject.Name)
	}

	return cells(
		lastTimestamp,
		e.eventType,
		e.reason,
		target,
		e.involvedObject.FieldPath,
		formatEventSource(e.source, e.reportingController, e.reportingInstance),
		strings.TrimSpace(e.message),
		firstTimestamp,
		int64(count),
		e.name,
	)
}

// formatEventSource prints "component, host", falling back to the reporting controller and
// instance, and dropping an empty host.
func formatEventSource(es corev1.EventSource, reportingController, reportingInstance string) string {
	component := firstNonEmpty(es.Component, reportingController)
	instance := firstNonEmpty(es.Host, reportingInstance)
	if instance == "" {
		return component
	}
	return component + ", " + instance
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
