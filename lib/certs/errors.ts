// Errors of the certificates module. Reading kubeadm's list and the PEM files is SSH work (RemoteError);
// the TLS handshake with an API server and a check that found expiring certificates are Kubernetes errors.
import { KubernetesError, RemoteError } from '../core/errors.js';

/** `kubeadm certs check-expiration` or a certificate file gave output this module cannot read. */
export class KubeadmCertsOutputError extends RemoteError {}

/** The TLS handshake with a node's API endpoint failed (refused, timed out, not TLS). */
export class ServedCertError extends KubernetesError {}

/** A certificate expires within the warning window, has expired, or could not be checked. */
export class CertsCheckError extends KubernetesError {}

/** A renewal did not take effect: the served certificate is still the old one after the restart. */
export class CertsRenewError extends KubernetesError {}
