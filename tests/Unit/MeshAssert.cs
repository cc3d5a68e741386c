using MeshOs.Abstractions;

namespace MeshOs.Tests.Unit;

/// <summary>Assertions on the coded errors MeshOs throws.</summary>
internal static class MeshAssert
{
    /// <summary>Asserts that <paramref name="action"/> throws a <see cref="MeshException"/> with <paramref name="code"/>.</summary>
    public static MeshException Throws(MeshErrorCode code, Action action)
    {
        var ex = Assert.Throws<MeshException>(action);
        Assert.Equal(code, ex.Code);
        return ex;
    }

    /// <summary>Asserts an InvalidArgument whose message names <paramref name="field"/> first (the field reported to the caller).</summary>
    public static MeshException Invalid(string field, Action action)
    {
        var ex = Throws(MeshErrorCode.InvalidArgument, action);
        Assert.StartsWith(field + ":", ex.Message, StringComparison.Ordinal);
        return ex;
    }
}
