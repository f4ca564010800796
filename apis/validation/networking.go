package validation

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The networking.k8s.io/v1 rules, after upstream's pkg/apis/networking/validation (with the
// feature gates at their 1.37 defaults: StrictIPCIDRValidation and RelaxedServiceNameValidation
// on).

const (
	annotationIngressClass       = "kubernetes.io/ingress.class"
	maxLenIngressClassController = 250
)

var (
	supportedPathTypes   = []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
	supportedParamScopes = []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}
)

// validateNetworkingCreate validates new networking.k8s.io objects; ok is false for other kinds.
func validateNetworkingCreate(obj runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		return validateIngressCreate(o), true
	case *networkingv1.IngressClass:
		return validateIngressClass(o), true
	case *networkingv1.NetworkPolicy:
		return validateNetworkPolicy(o, networkPolicyOptions{}), true
	}
	return nil, false
}

// validateNetworkingUpdate validates updates of networking.k8s.io objects; ok is false for other kinds.
func validateNetworkingUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		if p, ok := old.(*networkingv1.Ingress); ok {
			return validateIngressUpdate(o, p), true
		}
	case *networkingv1.IngressClass:
		if p, ok := old.(*networkingv1.IngressClass); ok {
			allErrs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata"))
			allErrs = append(allErrs, validateImmutableField(o.Spec.Controller, p.Spec.Controller, field.NewPath("spec", "controller"))...)
			return append(allErrs, validateIngressClass(o)...), true
		}
	case *networkingv1.NetworkPolicy:
		if p, ok := old.(*networkingv1.NetworkPolicy); ok {
			return validateNetworkPolicyUpdate(o, p), true
		}
	}
	return nil, false
}

// validateNetworkingStatusUpdate validates status updates of networking.k8s.io objects.
func validateNetworkingStatusUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	if o, ok := obj.(*networkingv1.Ingress); ok {
		if p, ok := old.(*networkingv1.Ingress); ok {
			allErrs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata"))
			return append(allErrs, validateIngressLoadBalancerStatus(&o.Status.LoadBalancer, &p.Status.LoadBalancer, field.NewPath("status", "loadBalancer"))...), true
		}
	}
	return nil, false
}

// --- NetworkPolicy ---

type networkPolicyOptions struct {
	allowInvalidLabelValueInSelector bool
	allowCIDRsEvenIfInvalid          []string
}

func validateNetworkPolicy(np *networkingv1.NetworkPolicy, opts networkPolicyOptions) field.ErrorList {
	allErrs := validateObjectMeta(&np.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateNetworkPolicySpec(&np.Spec, opts, field.NewPath("spec"))...)
}

func validateNetworkPolicyUpdate(np, old *networkingv1.NetworkPolicy) field.ErrorList {
	opts := networkPolicyOptions{}
	if len(metav1validation.ValidateLabelSelector(&old.Spec.PodSelector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
		opts.allowInvalidLabelValueInSelector = true
	}
	// CIDRs the stored policy already had are not revalidated, as upstream.
	for _, in := range old.Spec.Ingress {
		opts.allowCIDRsEvenIfInvalid = append(opts.allowCIDRsEvenIfInvalid, peerCIDRs(in.From)...)
	}
	for _, eg := range old.Spec.Egress {
		opts.allowCIDRsEvenIfInvalid = append(opts.allowCIDRsEvenIfInvalid, peerCIDRs(eg.To)...)
	}
	allErrs := validateObjectMetaUpdate(&np.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateNetworkPolicySpec(&np.Spec, opts, field.NewPath("spec"))...)
}

// peerCIDRs lists the CIDRs and exceptions of the peers' ipBlocks.
func peerCIDRs(peers []networkingv1.NetworkPolicyPeer) []string {
	var cidrs []string
	for _, peer := range peers {
		if peer.IPBlock != nil {
			cidrs = append(append(cidrs, peer.IPBlock.CIDR), peer.IPBlock.Except...)
		}
	}
	return cidrs
}

func validateNetworkPolicySpec(spec *networkingv1.NetworkPolicySpec, opts networkPolicyOptions, fldPath *field.Path) field.ErrorList {
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector}
	allErrs := metav1validation.ValidateLabelSelector(&spec.PodSelector, selOpts, fldPath.Child("podSelector"))
	for i, in := range spec.Ingress {
		allErrs = append(allErrs, validateNetworkPolicyRule(in.Ports, in.From, opts, fldPath.Child("ingress").Index(i), "from")...)
	}
	for i, eg := range spec.Egress {
		allErrs = append(allErrs, validateNetworkPolicyRule(eg.Ports, eg.To, opts, fldPath.Child("egress").Index(i), "to")...)
	}
	allowed := []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
	if len(spec.PolicyTypes) > len(allowed) {
		return append(allErrs, field.Invalid(fldPath.Child("policyTypes"), &spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if !slices.Contains(allowed, string(t)) {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("policyTypes").Index(i), t, allowed))
		}
	}
	return allErrs
}

// validateNetworkPolicyRule validates one ingress or egress rule: its ports and its peers (under
// peersField, "from" or "to").
func validateNetworkPolicyRule(ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer, opts networkPolicyOptions, p *field.Path, peersField string) field.ErrorList {
	allErrs := field.ErrorList{}
	for j := range ports {
		allErrs = append(allErrs, validateNetworkPolicyPort(&ports[j], p.Child("ports").Index(j))...)
	}
	for j := range peers {
		allErrs = append(allErrs, validateNetworkPolicyPeer(&peers[j], opts, p.Child(peersField).Index(j))...)
	}
	return allErrs
}

func validateNetworkPolicyPort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if port.Protocol != nil && *port.Protocol != "TCP" && *port.Protocol != "UDP" && *port.Protocol != "SCTP" {
		allErrs = append(allErrs, field.NotSupported(p.Child("protocol"), *port.Protocol, []string{"TCP", "UDP", "SCTP"}))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			allErrs = append(allErrs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			allErrs = append(allErrs, field.Invalid(p.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				allErrs = append(allErrs, field.Invalid(p.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				allErrs = append(allErrs, field.Invalid(p.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			allErrs = append(allErrs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			allErrs = append(allErrs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
	}
	return allErrs
}

func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, opts networkPolicyOptions, p *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector}
	n := 0
	if peer.PodSelector != nil {
		n++
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(peer.PodSelector, selOpts, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, selOpts, p.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		allErrs = append(allErrs, validateIPBlock(peer.IPBlock, p.Child("ipBlock"), opts)...)
	}
	if n == 0 {
		allErrs = append(allErrs, field.Required(p, "must specify a peer"))
	} else if n > 1 && peer.IPBlock != nil {
		allErrs = append(allErrs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	}
	return allErrs
}

func validateIPBlock(ipb *networkingv1.IPBlock, p *field.Path, opts networkPolicyOptions) field.ErrorList {
	if ipb.CIDR == "" {
		return field.ErrorList{field.Required(p.Child("cidr"), "")}
	}
	allErrs := validation.IsValidCIDRForLegacyField(p.Child("cidr"), ipb.CIDR, true, opts.allowCIDRsEvenIfInvalid)
	cidr, ok := parseCIDRSloppy(ipb.CIDR)
	if !ok {
		return allErrs
	}
	for i, s := range ipb.Except {
		ep := p.Child("except").Index(i)
		allErrs = append(allErrs, validation.IsValidCIDRForLegacyField(ep, s, true, opts.allowCIDRsEvenIfInvalid)...)
		except, ok := parseCIDRSloppy(s)
		if !ok {
			continue
		}
		if except.Addr().Is4() != cidr.Addr().Is4() || !cidr.Contains(except.Addr()) || cidr.Bits() >= except.Bits() {
			allErrs = append(allErrs, field.Invalid(ep, s, "must be a strict subset of `cidr`"))
		}
	}
	return allErrs
}

// --- Ingress ---

type ingressOptions struct {
	allowInvalidSecretName       bool
	allowInvalidWildcardHostRule bool
}

func validateIngressCreate(ing *networkingv1.Ingress) field.ErrorList {
	allErrs := validateIngress(ing, ingressOptions{})
	if v, ok := ing.Annotations[annotationIngressClass]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		allErrs = append(allErrs, field.Invalid(field.NewPath("annotations").Child(annotationIngressClass), v, "must match `ingressClassName` when both are specified"))
	}
	return allErrs
}

func validateIngressUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	opts := ingressOptions{}
	// Values the stored object already had stay accepted, as upstream.
	for _, tls := range old.Spec.TLS {
		if len(validateTLSSecretName(tls.SecretName)) > 0 {
			opts.allowInvalidSecretName = true
		}
	}
	for _, r := range old.Spec.Rules {
		if strings.Contains(r.Host, "*") && len(validateIngressRuleValue(&r.IngressRuleValue, nil)) > 0 {
			opts.allowInvalidWildcardHostRule = true
		}
	}
	return append(allErrs, validateIngress(ing, opts)...)
}

func validateIngress(ing *networkingv1.Ingress, opts ingressOptions) field.ErrorList {
	allErrs := validateObjectMeta(&ing.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateIngressSpec(&ing.Spec, field.NewPath("spec"), opts)...)
}

func validateIngressSpec(spec *networkingv1.IngressSpec, p *field.Path, opts ingressOptions) field.ErrorList {
	allErrs := field.ErrorList{}
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		allErrs = append(allErrs, field.Invalid(p, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		allErrs = append(allErrs, validateIngressBackend(spec.DefaultBackend, p.Child("defaultBackend"))...)
	}
	for i := range spec.Rules {
		allErrs = append(allErrs, validateIngressRule(&spec.Rules[i], p.Child("rules").Index(i), opts)...)
	}
	for i, tls := range spec.TLS {
		tp := p.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			check := validation.IsDNS1123Subdomain
			if strings.Contains(host, "*") {
				check = validation.IsWildcardDNS1123Subdomain
			}
			for _, msg := range check(host) {
				allErrs = append(allErrs, field.Invalid(tp.Child("hosts").Index(j), host, msg))
			}
		}
		if !opts.allowInvalidSecretName {
			for _, msg := range validateTLSSecretName(tls.SecretName) {
				allErrs = append(allErrs, field.Invalid(tp.Child("secretName"), tls.SecretName, msg))
			}
		}
	}
	if spec.IngressClassName != nil {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*spec.IngressClassName, false) {
			allErrs = append(allErrs, field.Invalid(p.Child("ingressClassName"), *spec.IngressClassName, msg))
		}
	}
	return allErrs
}

func validateTLSSecretName(name string) []string {
	if name == "" {
		return nil
	}
	return apimachineryvalidation.NameIsDNSSubdomain(name, false)
}

func validateIngressRule(r *networkingv1.IngressRule, p *field.Path, opts ingressOptions) field.ErrorList {
	allErrs := field.ErrorList{}
	wildcard := false
	if r.Host != "" {
		if _, isIP := parseIPSloppy(r.Host); isIP {
			allErrs = append(allErrs, field.Invalid(p.Child("host"), r.Host, "must be a DNS name, not an IP address"))
		}
		check := validation.IsDNS1123Subdomain
		if strings.Contains(r.Host, "*") {
			check, wildcard = validation.IsWildcardDNS1123Subdomain, true
		}
		for _, msg := range check(r.Host) {
			allErrs = append(allErrs, field.Invalid(p.Child("host"), r.Host, msg))
		}
	}
	if !wildcard || !opts.allowInvalidWildcardHostRule {
		allErrs = append(allErrs, validateIngressRuleValue(&r.IngressRuleValue, p)...)
	}
	return allErrs
}

func validateIngressRuleValue(v *networkingv1.IngressRuleValue, p *field.Path) field.ErrorList {
	if v.HTTP == nil {
		return nil
	}
	hp := p.Child("http")
	allErrs := field.ErrorList{}
	if len(v.HTTP.Paths) == 0 {
		allErrs = append(allErrs, field.Required(hp.Child("paths"), ""))
	}
	for i := range v.HTTP.Paths {
		allErrs = append(allErrs, validateHTTPIngressPath(&v.HTTP.Paths[i], hp.Child("paths").Index(i))...)
	}
	return allErrs
}

func validateHTTPIngressPath(path *networkingv1.HTTPIngressPath, p *field.Path) field.ErrorList {
	if path.PathType == nil {
		return field.ErrorList{field.Required(p.Child("pathType"), "pathType must be specified")}
	}
	allErrs := field.ErrorList{}
	switch *path.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(path.Path, "/") {
			allErrs = append(allErrs, field.Invalid(p.Child("path"), path.Path, "must be an absolute path"))
		}
		for _, seq := range invalidPathSequences {
			if strings.Contains(path.Path, seq) {
				allErrs = append(allErrs, field.Invalid(p.Child("path"), path.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range invalidPathSuffixes {
			if strings.HasSuffix(path.Path, suffix) {
				allErrs = append(allErrs, field.Invalid(p.Child("path"), path.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if path.Path != "" && !strings.HasPrefix(path.Path, "/") {
			allErrs = append(allErrs, field.Invalid(p.Child("path"), path.Path, "must be an absolute path"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(p.Child("pathType"), *path.PathType, supportedPathTypes))
	}
	return append(allErrs, validateIngressBackend(&path.Backend, p.Child("backend"))...)
}

func validateIngressBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	switch {
	case b.Resource != nil && b.Service != nil:
		return append(allErrs, field.Invalid(p, "", "cannot set both resource and service backends"))
	case b.Resource != nil:
		r := b.Resource
		rp := p.Child("resource")
		if r.APIGroup != nil {
			for _, msg := range validation.IsDNS1123Subdomain(*r.APIGroup) {
				allErrs = append(allErrs, field.Invalid(rp.Child("apiGroup"), *r.APIGroup, msg))
			}
		}
		allErrs = append(allErrs, validatePathSegmentName(r.Kind, rp.Child("kind"))...)
		allErrs = append(allErrs, validatePathSegmentName(r.Name, rp.Child("name"))...)
	case b.Service != nil:
		if b.Service.Name == "" {
			allErrs = append(allErrs, field.Required(p.Child("service", "name"), ""))
		} else {
			// RelaxedServiceNameValidation (on by default): a DNS label.
			for _, msg := range apimachineryvalidation.NameIsDNSLabel(b.Service.Name, false) {
				allErrs = append(allErrs, field.Invalid(p.Child("service", "name"), b.Service.Name, msg))
			}
		}
		port := b.Service.Port
		switch {
		case port.Name != "" && port.Number != 0:
			allErrs = append(allErrs, field.Invalid(p, "", "cannot set both port name & port number"))
		case port.Name != "":
			for _, msg := range validation.IsValidPortName(port.Name) {
				allErrs = append(allErrs, field.Invalid(p.Child("service", "port", "name"), port.Name, msg))
			}
		case port.Number != 0:
			for _, msg := range validation.IsValidPortNum(int(port.Number)) {
				allErrs = append(allErrs, field.Invalid(p.Child("service", "port", "number"), port.Number, msg))
			}
		default:
			allErrs = append(allErrs, field.Required(p, "port name or number is required"))
		}
	default:
		allErrs = append(allErrs, field.Invalid(p, "", "resource or service backend is required"))
	}
	return allErrs
}

func validatePathSegmentName(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	allErrs := field.ErrorList{}
	for _, msg := range content.IsPathSegmentName(v) {
		allErrs = append(allErrs, field.Invalid(p, v, msg))
	}
	return allErrs
}

func validateIngressLoadBalancerStatus(status, old *networkingv1.IngressLoadBalancerStatus, p *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	var oldIPs []string
	for _, in := range old.Ingress {
		if in.IP != "" {
			oldIPs = append(oldIPs, in.IP)
		}
	}
	for i, in := range status.Ingress {
		ip := p.Child("ingress").Index(i)
		if in.IP != "" {
			allErrs = append(allErrs, validation.IsValidIPForLegacyField(ip.Child("ip"), in.IP, true, oldIPs)...)
		}
		if in.Hostname != "" {
			for _, msg := range validation.IsDNS1123Subdomain(in.Hostname) {
				allErrs = append(allErrs, field.Invalid(ip.Child("hostname"), in.Hostname, msg))
			}
			if _, isIP := parseIPSloppy(in.Hostname); isIP {
				allErrs = append(allErrs, field.Invalid(ip.Child("hostname"), in.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return allErrs
}

// --- IngressClass ---

func validateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	allErrs := validateObjectMeta(&ic.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	sp := field.NewPath("spec")
	if len(ic.Spec.Controller) > maxLenIngressClassController {
		allErrs = append(allErrs, field.TooLong(sp.Child("controller"), "", maxLenIngressClassController))
	}
	allErrs = append(allErrs, validation.IsDomainPrefixedPath(sp.Child("controller"), ic.Spec.Controller)...)
	return append(allErrs, validateIngressClassParameters(ic.Spec.Parameters, sp.Child("parameters"))...)
}

func validateIngressClassParameters(params *networkingv1.IngressClassParametersReference, p *field.Path) field.ErrorList {
	if params == nil {
		return nil
	}
	allErrs := field.ErrorList{}
	if params.APIGroup != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*params.APIGroup) {
			allErrs = append(allErrs, field.Invalid(p.Child("apiGroup"), *params.APIGroup, msg))
		}
	}
	allErrs = append(allErrs, validatePathSegmentName(params.Kind, p.Child("kind"))...)
	allErrs = append(allErrs, validatePathSegmentName(params.Name, p.Child("name"))...)
	if params.Scope == nil {
		return append(allErrs, field.Required(p.Child("scope"), ""))
	}
	switch *params.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if params.Namespace == nil {
			allErrs = append(allErrs, field.Required(p.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(*params.Namespace, false) {
				allErrs = append(allErrs, field.Invalid(p.Child("namespace"), *params.Namespace, msg))
			}
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if params.Namespace != nil {
			allErrs = append(allErrs, field.Forbidden(p.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(p.Child("scope"), *params.Scope, supportedParamScopes))
	}
	return allErrs
}

// parseCIDRSloppy parses a CIDR as k8s.io/utils/net.ParseCIDRSloppy does (IPv4 octets may carry
// leading zeros) and returns its masked prefix.
func parseCIDRSloppy(s string) (netip.Prefix, bool) {
	addr, bitsStr, found := strings.Cut(s, "/")
	if !found {
		return netip.Prefix{}, false
	}
	ip, ok := parseIPSloppy(addr)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, err := strconv.Atoi(bitsStr)
	if err != nil || bits < 0 || bits > ip.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, bits).Masked(), true
}
