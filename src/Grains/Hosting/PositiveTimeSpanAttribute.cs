using System.ComponentModel.DataAnnotations;

namespace MeshOs.Grains.Hosting;

/// <summary>
/// A TimeSpan option must be positive (zero or negative is refused at start, naming the option). With
/// <see cref="AllowZero"/> zero is allowed (it means "off" where the option says so).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PositiveTimeSpanAttribute : ValidationAttribute
{
    public bool AllowZero { get; init; }

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is not TimeSpan span || span > TimeSpan.Zero || (AllowZero && span == TimeSpan.Zero)
            ? ValidationResult.Success
            : new ValidationResult(
                $"{validationContext.MemberName} must be {(AllowZero ? "zero or positive" : "positive")} (was {span}).",
                validationContext.MemberName is { } member ? [member] : []);
}
