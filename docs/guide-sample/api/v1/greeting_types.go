package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GreetingSpec says whom to greet, and how.
type GreetingSpec struct {
	// Who is greeted.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Who string `json:"who"`
	// Salutation starts the message.
	// +kubebuilder:default=Hello
	// +kubebuilder:validation:Enum=Hello;Hi;Goodbye
	// +optional
	Salutation string `json:"salutation,omitempty"`
}

// GreetingStatus is what the controller did.
type GreetingStatus struct {
	// Message is the greeting written into the ConfigMap.
	// +optional
	Message string `json:"message,omitempty"`
	// ConfigMap names the ConfigMap holding the message.
	// +optional
	ConfigMap string `json:"configMap,omitempty"`
}

// Greeting makes a ConfigMap with a greeting in it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Who",type=string,JSONPath=`.spec.who`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Greeting struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   GreetingSpec   `json:"spec,omitempty"`
	Status GreetingStatus `json:"status,omitempty"`
}

// GreetingList is a list of Greetings.
// +kubebuilder:object:root=true
type GreetingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Greeting `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Greeting{}, &GreetingList{})
}
