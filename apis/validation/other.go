package validation

import (
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- autoscaling/v1 Scale ----

func validateScale(scale *autoscalingv1.Scale) field.ErrorList {
	allErrs := validateObjectMeta(&scale.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	if scale.Spec.Replicas < 0 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0"))
	}
	return allErrs
}

// ---- coordination.k8s.io/v1 Lease ----

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	allErrs := validateObjectMeta(&l.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateLeaseSpec(&l.Spec, field.NewPath("spec"))...)
}

func validateLeaseUpdate(l, old *coordinationv1.Lease) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&l.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateLeaseSpec(&l.Spec, field.NewPath("spec"))...)
}

func validateLeaseSpec(spec *coordinationv1.LeaseSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.LeaseDurationSeconds != nil && *spec.LeaseDurationSeconds <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("leaseDurationSeconds"), spec.LeaseDurationSeconds, "must be greater than 0"))
	}
	if spec.LeaseTransitions != nil && *spec.LeaseTransitions < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("leaseTransitions"), spec.LeaseTransitions, "must be greater than or equal to 0"))
	}
	if spec.Strategy != nil {
		allErrs = append(allErrs, validateCoordinatedLeaseStrategy(*spec.Strategy, fldPath.Child("strategy"))...)
	}
	if spec.PreferredHolder != nil && *spec.PreferredHolder != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return allErrs
}

func validateCoordinatedLeaseStrategy(strategy coordinationv1.CoordinatedLeaseStrategy, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	valid := []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}
	if len(strings.Split(string(strategy), "/")) == 1 {
		if strategy != coordinationv1.OldestEmulationVersion {
			// sic: upstream nests the child "strategy" under spec.strategy.
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("strategy"), strategy, valid))
		}
	} else {
		for _, msg := range validation.IsQualifiedName(string(strategy)) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("strategy"), strategy, msg))
		}
	}
	return allErrs
}

// ---- discovery.k8s.io/v1 EndpointSlice ----

var (
	supportedAddressTypes  = sets.New(string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6), string(discoveryv1.AddressTypeFQDN))
	deprecatedAddressTypes = sets.New("IP")
)

const (
	maxTopologyLabels = 16
	maxAddresses      = 100
	maxPorts          = 100
	maxEndpoints      = 1000
)

func validateEndpointSlice(es *discoveryv1.EndpointSlice, validAddressTypes sets.Set[string]) field.ErrorList {
	allErrs := validateObjectMeta(&es.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	if es.AddressType == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("addressType"), ""))
	} else if !validAddressTypes.Has(string(es.AddressType)) {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("addressType"), es.AddressType, sets.List(validAddressTypes)))
	}
	allErrs = append(allErrs, validateSliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	return append(allErrs, validateSlicePorts(es.Ports, field.NewPath("ports"))...)
}

func validateSliceEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpoints)}
	}
	var allErrs field.ErrorList
	for i, ep := range endpoints {
		p := fldPath.Index(i)
		ap := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			allErrs = append(allErrs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxAddresses {
			allErrs = append(allErrs, field.TooMany(ap, len(ep.Addresses), maxAddresses))
		}
		for j, addr := range ep.Addresses {
			switch addrType {
			case "IP":
				allErrs = append(allErrs, validation.IsValidIP(ap.Index(j), addr)...)
			case discoveryv1.AddressTypeIPv4:
				if a, ok := parseIPSloppy(addr); !ok || !a.Is4() {
					allErrs = append(allErrs, field.Invalid(ap.Index(j), addr, "must be a valid IPv4 address"))
				}
				allErrs = append(allErrs, validateNonSpecialIP(addr, ap.Index(j))...)
			case discoveryv1.AddressTypeIPv6:
				if !isIPv6String(addr) {
					allErrs = append(allErrs, field.Invalid(ap.Index(j), addr, "must be a valid IPv6 address"))
				}
				allErrs = append(allErrs, validateNonSpecialIP(addr, ap.Index(j))...)
			case discoveryv1.AddressTypeFQDN:
				allErrs = append(allErrs, validation.IsFullyQualifiedDomainName(ap.Index(j), addr)...)
			}
		}
		topo := p.Child("topology") // the internal name of deprecatedTopology
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			allErrs = append(allErrs, field.TooMany(topo, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		allErrs = append(allErrs, unversionedvalidation.ValidateLabels(ep.DeprecatedTopology, topo)...)
		if ep.Hostname != nil {
			allErrs = append(allErrs, validateDNS1123Label(*ep.Hostname, p.Child("hostname"))...)
		}
	}
	return allErrs
}

func validateSlicePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxPorts)}
	}
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if len(name) > 0 {
			allErrs = append(allErrs, validateDNS1123Label(name, p.Child("name"))...)
		}
		if names.Has(name) {
			allErrs = append(allErrs, field.Duplicate(p.Child("name"), port.Name))
		} else {
			names.Insert(name)
		}
		if port.Protocol == nil {
			allErrs = append(allErrs, field.Required(p.Child("protocol"), ""))
		} else if !supportedPortProtocols.Has(*port.Protocol) {
			allErrs = append(allErrs, field.NotSupported(p.Child("protocol"), *port.Protocol, sets.List(supportedPortProtocols)))
		}
		if port.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
				allErrs = append(allErrs, field.Invalid(p.Child("appProtocol"), port.AppProtocol, msg))
			}
		}
	}
	return allErrs
}

// ---- events.k8s.io/v1 Event ----

// eventsV1Fields maps an events.k8s.io/v1 Event onto the internal field names upstream reports.
func eventsV1Fields(e *eventsv1.Event) *eventFields {
	f := &eventFields{
		meta: &e.ObjectMeta, involvedObject: e.Regarding, reason: e.Reason, message: e.Note,
		source: e.DeprecatedSource, firstTimestamp: e.DeprecatedFirstTimestamp, lastTimestamp: e.DeprecatedLastTimestamp,
		count: e.DeprecatedCount, typ: e.Type, eventTime: e.EventTime, action: e.Action, related: e.Related,
		reportingController: e.ReportingController, reportingInstance: e.ReportingInstance,
	}
	if e.Series != nil {
		f.series = &corev1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return f
}
