// A JVM holding a PEM private key as a char[] of its base64 (the way KeyStore passwords and
// secrets read from a config are often kept), for the UTF-16 tests: every byte[] and String it
// was built from is zeroed or never made, so the heap holds the key only as UTF-16 characters.
// Prints "ready" and waits to be dumped (jcmd PID GC.heap_dump) and killed.
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;

public class CharHolder {
    static char[] held;

    public static void main(String[] args) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        byte[] der = generator.generateKeyPair().getPrivate().getEncoded();
        byte[] body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encode(der);
        Arrays.fill(der, (byte) 0);
        byte[] head = "-----BEGIN PRIVATE KEY-----\n".getBytes("US-ASCII");
        byte[] tail = "\n-----END PRIVATE KEY-----\n".getBytes("US-ASCII");
        byte[] pem = new byte[head.length + body.length + tail.length];
        System.arraycopy(head, 0, pem, 0, head.length);
        System.arraycopy(body, 0, pem, head.length, body.length);
        System.arraycopy(tail, 0, pem, head.length + body.length, tail.length);
        Arrays.fill(body, (byte) 0);
        byte[] outer = Base64.getEncoder().encode(pem);
        Arrays.fill(pem, (byte) 0);
        held = new char[outer.length];
        for (int i = 0; i < outer.length; i++) {
            held[i] = (char) outer[i];
        }
        Arrays.fill(outer, (byte) 0);
        System.gc();
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(600_000);
    }
}
