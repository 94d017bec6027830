// A JVM holding an RSA key pair, for the heap-dump tests: writes the public key as a JWKS to
// args[0], prints "ready" and waits to be dumped (jcmd PID GC.heap_dump) and killed.
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.Base64;

public class KeyHolder {
    static KeyPair held;

    static String b64(BigInteger value) {
        byte[] bytes = value.toByteArray();
        if (bytes[0] == 0) {
            bytes = Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    public static void main(String[] args) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        held = generator.generateKeyPair();
        RSAPublicKey pub = (RSAPublicKey) held.getPublic();
        Files.writeString(Path.of(args[0]), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"jvm-key\",\"n\":\""
                + b64(pub.getModulus()) + "\",\"e\":\"" + b64(pub.getPublicExponent()) + "\"}]}");
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(600_000);
    }
}
